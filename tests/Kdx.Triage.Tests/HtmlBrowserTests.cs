// The HTML report in a real browser: Debian's chromium, headless, driven by Playwright (its
// driver ships in the NuGet package; ExecutablePath points at /usr/bin/chromium, so no browser is
// downloaded). The page renders its title and class, its sections fold and unfold on a click, it
// fits a phone's width, the CSP lets its own stylesheet apply, and no request leaves the page.
using Kdx.Lab;
using Kdx.Triage.Rendering;
using Microsoft.Playwright;

namespace Kdx.Triage.Tests;

[Trait("Category", "Lab")]
public class HtmlBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Html_report_renders_expands_and_fetches_nothing()
    {
        Assert.True(File.Exists(Chromium), "Debian's chromium is missing: run lab/install-deps.sh");
        var r = TriageLab.Report(TriageLab.Kind(CrashKind.Hung));
        var dir = Directory.CreateTempSubdirectory("kdx-triage-html-");
        try
        {
            var file = Path.Combine(dir.FullName, "report.html");
            using (var w = new StreamWriter(file))
                HtmlReport.Write(r, w);
            var url = new Uri(file).AbsoluteUri;

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });
            // A phone-sized page.
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true });
            var requests = new List<string>();
            var console = new List<string>();
            page.Request += (_, req) => requests.Add(req.Url);
            page.Console += (_, msg) => console.Add($"{msg.Type}: {msg.Text}");
            await page.GotoAsync(url);

            // Renders: the title and the class badge are visible.
            Assert.True(await page.Locator("#title").IsVisibleAsync());
            Assert.Contains("hung_task", await page.Locator("#title").InnerTextAsync());
            Assert.Equal("hung_task", await page.Locator("#panic-class").InnerTextAsync());
            Assert.Equal(r.Signature.Hash, await page.Locator("#signature-hash").InnerTextAsync());
            // The inline stylesheet applied (its CSP hash is right): the badge has its red background.
            Assert.Equal("rgb(176, 0, 32)", await page.Locator("#panic-class").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
            // Fits a phone's width: nothing forces horizontal scrolling of the page itself.
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));

            // Sections fold: the log, the blocked tasks and all tasks' backtraces start closed and open on a click.
            foreach (var id in new[] { "log", "blocked", "tasks" })
            {
                var body = page.Locator($"#{id} pre").First;
                Assert.False(await body.IsVisibleAsync());
                await page.Locator($"#{id} > summary").ClickAsync();
                Assert.True(await page.Locator($"#{id}").EvaluateAsync<bool>("e => e.open"));
                Assert.True(await body.IsVisibleAsync());
            }
            Assert.Contains("Kernel panic - not syncing", await page.Locator("#log pre").InnerTextAsync());
            Assert.Contains("crashtest_trigger_set", await page.Locator("#blocked pre").First.InnerTextAsync());
            // And the open ones close.
            await page.Locator("#where > summary").ClickAsync();
            Assert.False(await page.Locator("#where").EvaluateAsync<bool>("e => e.open"));

            // Nothing but the file itself was requested, and the CSP had nothing to refuse.
            Assert.Equal([url], requests);
            Assert.DoesNotContain(console, c => c.Contains("Content Security Policy", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
