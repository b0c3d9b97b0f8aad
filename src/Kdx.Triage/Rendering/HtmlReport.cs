// The report as one self-contained HTML file: no script, no external resource (a Content-Security-
// Policy forbids every fetch; the one inline stylesheet is allowed by its hash), readable on a
// phone (viewport, wrapping, scrollable code blocks), each section a <details> so long ones fold.
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Kdx.Triage.Rendering;

public static class HtmlReport
{
    private const string Style = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:60rem;padding:.75rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.25rem;margin:.3rem 0;overflow-wrap:anywhere}
.summary{font-size:1.05rem;margin:.4rem 0}
.class{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;background:#b00020;color:#fff;font-weight:600}
.hash{font-family:ui-monospace,monospace}
details{background:#fff;border:1px solid #ddd;border-radius:.4rem;margin:.6rem 0;padding:.3rem .7rem}
summary{cursor:pointer;font-weight:600;padding:.3rem 0}
dl{display:grid;grid-template-columns:minmax(6rem,max-content) 1fr;gap:.15rem .8rem;margin:.3rem 0}
dt{color:#555}
dd{margin:0;overflow-wrap:anywhere}
pre{overflow-x:auto;background:#f3f3f3;padding:.5rem;border-radius:.3rem;font-size:12.5px;line-height:1.35}
h3{font-size:.95rem;margin:.6rem 0 .2rem}
@media (max-width:30rem){dl{grid-template-columns:1fr}dt{font-weight:600}}
""";

    /// <summary>The CSP: nothing may be fetched or run; only the stylesheet above, by its SHA-256.</summary>
    public static string ContentSecurityPolicy { get; } =
        $"default-src 'none'; style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Style)))}'; " +
        "img-src 'none'; script-src 'none'; connect-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'";

    public static void Write(TriageReport r, TextWriter o)
    {
        o.WriteLine("<!DOCTYPE html>");
        o.WriteLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        o.WriteLine($"<meta http-equiv=\"Content-Security-Policy\" content=\"{ContentSecurityPolicy}\">");
        o.WriteLine("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        o.WriteLine("<meta name=\"referrer\" content=\"no-referrer\">");
        o.WriteLine($"<title>{E(ReportSections.Title(r))}</title>");
        o.Write("<style>");
        o.Write(Style);
        o.WriteLine("</style></head><body>");
        o.WriteLine($"<header><h1 id=\"title\">{E(ReportSections.Title(r))}</h1>");
        o.WriteLine($"<p class=\"summary\"><span class=\"class\" id=\"panic-class\">{E(PanicClassNames.Name(r.Panic.Class))}</span> {E(r.Panic.Summary)}</p>");
        o.WriteLine($"<p>signature <span class=\"hash\" id=\"signature-hash\">{E(r.Signature.Hash)}</span></p></header>");
        foreach (var s in ReportSections.Of(r))
        {
            o.WriteLine($"<details id=\"{E(s.Id)}\"{(s.Collapsed ? "" : " open")}><summary>{E(s.Title)}</summary>");
            if (s.Facts.Count > 0)
            {
                o.WriteLine("<dl>");
                foreach (var f in s.Facts)
                    o.WriteLine($"<dt>{E(f.Key)}</dt><dd>{E(f.Value)}</dd>");
                o.WriteLine("</dl>");
            }
            if (s.Items.Count > 0)
            {
                o.WriteLine("<ul>");
                foreach (var item in s.Items)
                    o.WriteLine($"<li>{E(item)}</li>");
                o.WriteLine("</ul>");
            }
            foreach (var b in s.Blocks)
            {
                if (b.Title is { } t)
                    o.WriteLine($"<h3>{E(t)}</h3>");
                o.Write("<pre>");
                foreach (var line in b.Lines)
                    o.Write(E(line) + "\n");
                o.WriteLine("</pre>");
            }
            o.WriteLine("</details>");
        }
        o.WriteLine("</body></html>");
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
