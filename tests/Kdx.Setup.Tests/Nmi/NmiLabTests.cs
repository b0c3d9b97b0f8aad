// nmimgr in a real kernel: the crash lab boots Debian's kernel under QEMU with the module loaded,
// injects NMIs through the QEMU monitor, and keeps the console and the dumps.
using System.Text.RegularExpressions;
using Kdx.Lab;
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

public class NmiLabTests
{
    private static string ScriptPath(string name) =>
        Path.Combine(NmiModuleBuildTests.RepoRoot(), "tests/Kdx.Setup.Tests/Nmi/lab", name);

    /// <summary>nmimgr.ko for a kernel release, built once per source version into the lab's build cache.</summary>
    internal static string Module(string release)
    {
        var src = Path.Combine(NmiModuleBuildTests.RepoRoot(), "kernel/nmimgr");
        var sources = new[] { "nmimgr.c", "Kbuild" }.Select(f => Path.Combine(src, f)).ToArray();
        var dir = Path.Combine(LabPaths.Builds, $"nmimgr-{release}-{Initramfs.HashFiles(sources, release)[..12]}");
        var ko = Path.Combine(dir, "nmimgr.ko");
        using var _ = FileLock.Acquire($"nmimgr-{release}", TimeSpan.FromMinutes(10));
        if (File.Exists(ko))
            return ko;
        Kernels.EnsureHeaders(release);
        var tmp = dir + ".tmp";
        if (Directory.Exists(tmp))
            Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        foreach (var s in sources)
            File.Copy(s, Path.Combine(tmp, Path.GetFileName(s)));
        var (code, output) = NmiModuleBuildTests.Run("make", $"-C /lib/modules/{release}/build M={tmp} modules");
        Assert.True(code == 0 && File.Exists(Path.Combine(tmp, "nmimgr.ko")), output);
        if (Directory.Exists(dir))
            Directory.Delete(dir, true);
        Directory.Move(tmp, dir);
        return ko;
    }

    private static LabResult Build(string script, string moduleOptions, params string[] captures)
    {
        var release = ScenarioOptions.ResolveKernel("default");
        var s = ScenarioOptions.Create(release, "script", captures,
            modules: [$"{Module(release)}:{moduleOptions}"], script: ScriptPath(script));
        return LabCatalog.Build(s);
    }

    /// <summary>The console lines after the one that starts with <paramref name="from"/>, up to the next NMITEST stage.</summary>
    private static string Stage(string console, string from)
    {
        var start = console.IndexOf(from, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{from}' in the console");
        var end = console.IndexOf("NMITEST stage", start + from.Length, StringComparison.Ordinal);
        return end < 0 ? console[start..] : console[start..end];
    }

    private static Dictionary<int, long> Counters(string console, string stage)
    {
        var m = Regex.Match(console, $@"NMITEST {stage} counters=\[([^\]]*)\]");
        Assert.True(m.Success, $"no counters for {stage}");
        // The script joined nmimgr's "code count" lines with spaces.
        var words = m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var counters = new Dictionary<int, long>();
        var notes = new List<string>();
        NmiStatus.ParseCounters(string.Join('\n', words.Chunk(2).Select(p => string.Join(' ', p))), counters, notes);
        Assert.Empty(notes);
        return counters;
    }

    [Fact]
    public void Drop_ignore_unmanaged_runtime_writes_and_panic_on_real_nmis()
    {
        var lab = Build("policy.sh", "ratelimit_ms=0", CaptureSpec.QemuElf);
        var console = File.ReadAllText(lab.ConsoleLog).Replace("\r", "", StringComparison.Ordinal);

        // drop: nmimgr logs the code and claims the NMI, so the kernel says nothing.
        var drop = Stage(console, "NMITEST stage drop");
        var handled = Regex.Match(drop, @"nmimgr: Handling new NMI type:1 event:0x([0-9a-f]{2}) \((\d+)\)");
        Assert.True(handled.Success, drop);
        var code = Convert.ToInt32(handled.Groups[1].Value, 16);
        Assert.Equal(code.ToString(System.Globalization.CultureInfo.InvariantCulture), handled.Groups[2].Value);
        Assert.Contains($"nmimgr: Dropping NMI event 0x{code:x2} ({code})", drop);
        Assert.DoesNotContain("Uhhuh", drop);
        Assert.Equal(1, Counters(console, "drop").Values.Sum());

        // ignore: nmimgr is silent and the kernel reports the NMI itself; the counter still counts.
        var ignore = Stage(console, "NMITEST stage ignore");
        Assert.Contains("ignore=[0-255] drop=[]", ignore);
        Assert.Matches(@"Uhhuh\. NMI received for unknown reason [0-9a-f]{2} on CPU \d+\.", ignore);
        Assert.DoesNotContain("nmimgr: Handling", ignore);
        Assert.Equal(2, Counters(console, "ignore").Values.Sum());

        // unmanaged: logged and passed on to the kernel.
        var unmanaged = Stage(console, "NMITEST stage unmanaged");
        Assert.Matches(@"nmimgr: Unmanaged NMI event 0x[0-9a-f]{2} \(\d+\), let it pass", unmanaged);
        Assert.Matches(@"Uhhuh\. NMI received for unknown reason [0-9a-f]{2} on CPU \d+\.", unmanaged);
        Assert.Equal(3, Counters(console, "unmanaged").Values.Sum());

        // malformed writes are refused whole and the old list stays.
        foreach (var bad in new[] { "1-", "300", "a,b", "5-3" })
            Assert.Contains($"NMITEST write {bad} rejected drop=[7,9]", console);

        // panic: the guest dies through nmimgr, and QEMU dumps it.
        Assert.Contains("NMITEST stage panic panic=[0-255]", console);
        Assert.Equal("nmimgr: NMI event listed in events_panic", lab.Metadata.PanicMessage);
        Assert.Matches(@"nmimgr: NMI event 0x[0-9a-f]{2} \(\d+\) is in events_panic", console);
        Assert.DoesNotContain("NMITEST still alive", console);
        Assert.Equal("elf", Assert.Single(lab.Metadata.Captures).Format);

        // kdx nmi discover reads the same console: every code nmimgr logged is found.
        var found = NmiLogScanner.Scan(console.Split('\n'));
        Assert.Contains(found, c => c.Code == code && c.Sources.HasFlag(NmiSource.Nmimgr));
        Assert.Contains(found, c => c.LastAction == NmiAction.Panicked);
    }
}
