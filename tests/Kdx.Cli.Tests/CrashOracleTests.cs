// kdx sys/ps/mod/kmem -i against crash 9 run with the -dbg vmlinux (Kdx.Lab.Oracles) on lab
// scenarios built for the purpose: a real kdump (makedumpfile -l -d 31), QEMU's dump of an NMI
// panic, an older ABI and the cloud and rt flavors. kdx reads only the dump.
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Log;
using Kdx.Lab;
using Xunit.Abstractions;

namespace Kdx.Cli.Tests;

public sealed class CrashOracleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Scenarios() => [.. Catalog.Keys];

    /// <summary>
    /// Every lab scenario: kdump (makedumpfile -l -d 31, and the raw /proc/vmcore copy) and QEMU captures, each crash
    /// kind (the script kind has no crash of its own), 5-level paging, KASLR off, other kernels. Not here:
    /// SysrqKdumpKdx, whose first capture is kdx's own (the capture tests compare it), and which is a new guest
    /// run for every change to kdx's sources.
    /// </summary>
    private static readonly Dictionary<string, Func<Scenario>> Catalog = new Dictionary<string, Func<Scenario>>
    {
        ["sysrq-kdump"] = LabCatalog.SysrqKdump,
        ["nmi-qemu"] = LabCatalog.NmiQemu,
        ["sysrq-qemu"] = LabCatalog.SysrqQemu,
        ["raw-elf"] = LabCatalog.SysrqKdumpRawElf,
        ["older-abi"] = () => LabCatalog.OtherKernel(LabCatalog.OlderAbi),
        ["cloud"] = () => LabCatalog.OtherKernel(LabCatalog.OtherKernels[1]),
        ["rt"] = () => LabCatalog.OtherKernel(LabCatalog.OtherKernels[2]),
        ["la57"] = LabCatalog.La57Qemu,
        ["nokaslr"] = LabCatalog.NoKaslrQemu,
    }.Concat(Enum.GetValues<CrashKind>().Where(k => k != CrashKind.Script)
        .Select(k => KeyValuePair.Create<string, Func<Scenario>>("kind-" + k.ToString().ToLowerInvariant(), () => LabCatalog.Kind(k))))
        .ToDictionary();

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<(LabResult Lab, string Oracle)>> Built = new();

    private static (LabResult Lab, string Oracle) Scenario(string name) =>
        Built.GetOrAdd(name, n => new(() =>
        {
            var lab = LabCatalog.Build(Catalog[n]());
            return (lab, Oracles.Ensure(lab, Console.Error));
        })).Value;

    /// <summary>The scenario's first capture (the one crash read) and its oracle folder.</summary>
    private static (string[] Dump, string Oracle) Lab(string name)
    {
        var (lab, oracle) = Scenario(name);
        return ([.. lab.Files(lab.Metadata.Captures[0].Id)], oracle);
    }

    private static string Kdx(params string[] args)
    {
        var (code, output, error) = KdxInProcess.Run(args);
        Assert.True(code == 0, $"kdx {string.Join(' ', args)} exited {code}: {error}");
        return output;
    }

    private static string Oracle(string dir, string file) => File.ReadAllText(Path.Combine(dir, file));

    private static Dictionary<string, string> Fields(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Contains(": ", StringComparison.Ordinal))
            .Select(l => l.Split(": ", 2))
            .ToDictionary(p => p[0].Trim(), p => p[1].TrimEnd());

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void SysFieldsEqualCrash(string scenario)
    {
        var (dump, oracle) = Lab(scenario);
        var expected = Fields(Oracle(oracle, "crash-sys.txt"));
        var actual = Fields(Kdx(["sys", .. dump]));
        // KERNEL names crash's debug vmlinux (kdx has none); DUMPFILE is the path inside crash's chroot.
        foreach (var label in (string[])["CPUS", "DATE", "UPTIME", "LOAD AVERAGE", "TASKS", "NODENAME", "RELEASE", "VERSION", "MACHINE", "MEMORY", "PANIC"])
            Assert.True(expected[label] == actual[label], $"{label}: crash '{expected[label]}', kdx '{actual[label]}'");
        output.WriteLine(Kdx(["sys", .. dump]));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void LogEqualsCrashAndMakedumpfile(string scenario)
    {
        var (lab, oracle) = Scenario(scenario);
        var dump = lab.Files(lab.Metadata.Captures[0].Id).ToArray();
        var text = Kdx(["log", .. dump]);
        Assert.Equal(File.ReadAllText(Path.Combine(oracle, "crash-log.txt"), System.Text.Encoding.Latin1), text);
        Assert.Matches(lab.Metadata.ExpectedPanic, text);
        // makedumpfile 1.7.8 prints each record's caller id in an 8-wide column, which crash's log shows only with -c (width 6).
        var (expected, how) = MakedumpfileDmesg.Read(lab, oracle);
        using var file = Dump.DumpFile.Open(dump);
        var kernel = new DumpedKernel(KernelMemory.Open(file), file.VmcoreInfo!);
        Assert.Equal(expected, LogFormatter.Format(kernel.Log.Records, new LogFormatOptions { CallerWidth = 8 }));
        output.WriteLine($"{kernel.Log.Records.Count} records equal to crash's log and to {how}");
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void PsEqualsCrash(string scenario)
    {
        var (dump, oracle) = Lab(scenario);
        Assert.Equal(Oracle(oracle, "crash-ps.txt"), Kdx(["ps", .. dump]));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void KmemInfoEqualsCrash(string scenario)
    {
        var (dump, oracle) = Lab(scenario);
        Assert.Equal(Oracle(oracle, "crash-kmem-i.txt"), Kdx(["kmem", "-i", .. dump]));
    }

    /// <summary>MODULE, NAME, BASE, SIZE of each line (crash's last columns name the object file, kdx's the taints).</summary>
    private static List<string> ModuleColumns(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4)))];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void ModEqualsCrash(string scenario)
    {
        var (dump, oracle) = Lab(scenario);
        var expected = ModuleColumns(Oracle(oracle, "crash-mod.txt"));
        var text = Kdx(["mod", .. dump]);
        Assert.Equal(expected, ModuleColumns(text));
        // The lab's own test module is out of tree and unsigned; Debian's modules carry no taint.
        Assert.Matches(@"\n\S+  crashtest +\S+ +\d+  OE\n", text);
        Assert.DoesNotMatch(@"  virtio_blk +\S+ +\d+  [A-Z]", text);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void StructDecodesTheTasksCrashListsAsActive(string scenario)
    {
        var (dump, oracle) = Lab(scenario);
        var active = Oracle(oracle, "crash-ps.txt").Split('\n').Where(l => l.StartsWith('>')).ToList();
        Assert.NotEmpty(active);
        foreach (var row in active)
        {
            var cols = row[1..].Split(' ', StringSplitOptions.RemoveEmptyEntries); // PID PPID CPU TASK ST %MEM VSZ RSS COMM
            var text = Kdx(["struct", dump[0], "task_struct", cols[3]]);
            Assert.Contains($" pid_t pid; = {cols[0]}\n", text);
            Assert.Contains($" comm[16]; = \"{cols[8].Trim('[', ']')}\"\n", text);
        }
        var layout = Kdx(["struct", dump[0], "list_head"]);
        Assert.Equal("struct list_head {\n  [    0] struct list_head *next;\n  [    8] struct list_head *prev;\n}\nSIZE: 16\n", layout);
    }

    [Fact]
    public void JsonOutputsParse()
    {
        var (dump, _) = Lab("nmi-qemu");
        foreach (var argv in (string[][])[["sys", "--json", .. dump], ["ps", "--json", .. dump], ["mod", "--json", .. dump],
                     ["kmem", "-i", "--json", .. dump], ["struct", "--json", dump[0], "list_head"]])
        {
            using var doc = System.Text.Json.JsonDocument.Parse(Kdx(argv));
            Assert.NotEqual(System.Text.Json.JsonValueKind.Undefined, doc.RootElement.ValueKind);
        }
    }
}
