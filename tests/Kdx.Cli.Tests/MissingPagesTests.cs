// ps, sys, kmem -i and mod on a real dump that lacks pages they need: the lab's sysrq kdump
// (makedumpfile -l -d 31 in the capture kernel), copied with chosen pages excluded the way the
// dump level excludes pages (2nd bitmap bit cleared, page descriptor gone). kdx must print all
// it can — equal to crash's output on the complete dump — name on stderr each thing it could not
// read, mark the values it does not know, and exit 3 (ExitCodes.Incomplete).
using System.Text.RegularExpressions;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Modules;
using Kdx.Kernel.Tasks;
using Kdx.Lab;
using Xunit.Abstractions;

namespace Kdx.Cli.Tests;

public sealed class MissingPagesTests(ITestOutputHelper output) : IDisposable
{
    private const ulong PageSize = 4096;

    private static readonly Lazy<(string Dump, string Oracle)> Source = new(() =>
    {
        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        Assert.Equal("kdump-mdf-l-d31", lab.Metadata.Captures[0].Id); // the capture crash read for the oracle
        return (lab.Dump(lab.Metadata.Captures[0].Id), Oracles.Ensure(lab, Console.Error));
    });

    private readonly string _dir = Directory.CreateTempSubdirectory("kdx-missing-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Kdx(params string[] args) => KdxInProcess.Run(args);

    private static string Oracle(string file) => File.ReadAllText(Path.Combine(Source.Value.Oracle, file));

    /// <summary>The complete dump opened for choosing what to exclude.</summary>
    private static (IDumpFile Dump, X86_64AddressSpace Space, DumpedKernel Kernel) Open()
    {
        var dump = DumpFile.Open(Source.Value.Dump);
        var space = KernelMemory.Open(dump);
        return (dump, space, new DumpedKernel(space, dump.VmcoreInfo!));
    }

    /// <summary>A copy of the dump without the pages that hold <paramref name="vaddrs"/>.</summary>
    private string Without(string name, X86_64AddressSpace space, params ulong[] vaddrs)
    {
        var pfns = vaddrs.Select(v => space.Translate(v) / PageSize).ToArray();
        var path = Path.Combine(_dir, name + ".vmcore");
        KdumpPageExcluder.Write(Source.Value.Dump, path, pfns);
        output.WriteLine($"{name}: excluded pfn {string.Join(", ", pfns.Select(p => $"0x{p:x}"))} (vaddr {string.Join(", ", vaddrs.Select(v => $"0x{v:x}"))})");
        using var copy = DumpFile.Open(path);
        Assert.All(pfns, p => Assert.Equal(PageState.Excluded, copy.GetPageState(p)));
        return path;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void PsLeavesOutATaskItCannotReadAndMarksMemoryItDoesNotKnow()
    {
        string copy;
        KernelTask victim, mmOwner;
        {
            var (dump, space, kernel) = Open();
            using var _ = dump;
            var o = kernel.Objects;
            var size = o.SizeOf("task_struct");
            var tasks = TaskList.Read(kernel).Tasks;
            // A sleeping single-threaded process, and a page that only its task_struct uses holding its pid and its tasks list node.
            (victim, var page) = tasks
                .Where(t => !t.Active && !t.Idle && t.Mm != 0 && tasks.Count(u => u.Tgid == t.Tgid) == 1)
                .Select(t => (t, Page: o.AddressOf(t.Address, "task_struct", "pid") & ~(PageSize - 1)))
                .First(x => x.Page >= x.t.Address && x.Page + PageSize <= x.t.Address + size
                            && (o.AddressOf(x.t.Address, "task_struct", "tasks") & ~(PageSize - 1)) == x.Page);
            mmOwner = tasks.Last(t => t.Mm != 0 && t.Tgid != victim.Tgid && t.Mm != victim.Mm);
            copy = Without("ps", space, page, o.AddressOf(mmOwner.Mm, "mm_struct", "total_vm"));
        }

        var (code, text, err) = Kdx("ps", copy);
        output.WriteLine(err);
        Assert.Equal(ExitCodes.Incomplete, code);
        Assert.All(Lines(err), l => Assert.StartsWith("ps: cannot read ", l));
        Assert.Contains($"ps: cannot read task_struct at 0x{victim.Address:x} (the task is left out): physical address 0x", err);
        Assert.Contains($"cannot read mm_struct at 0x{mmOwner.Mm:x} of PID {mmOwner.Pid} ({mmOwner.Comm}): VSZ and RSS unknown: physical address 0x", err);
        Assert.Contains("page excluded from dump", err);

        // Every row crash printed from the complete dump is printed the same, or left out / marked "?" where stderr says why.
        var crash = Lines(Oracle("crash-ps.txt"));
        var kdx = Lines(text);
        Assert.Equal(crash[0], kdx[0]);
        var rows = kdx.Skip(1).ToDictionary(r => Columns(r)[3]);
        var unknownMemory = Regex.Matches(err, @"mm_struct at 0x[0-9a-f]+ of PID (\d+) ").Select(m => m.Groups[1].Value).ToHashSet();
        var unknownParent = Regex.Matches(err, @"the parent task_struct at 0x([0-9a-f]+) of PID (\d+)").Select(m => m.Groups[2].Value).ToHashSet();
        var leftOut = Regex.Matches(err, @"task_struct at 0x([0-9a-f]+) \(the task is left out\)").Select(m => m.Groups[1].Value.PadLeft(16, '0')).ToHashSet();
        var same = 0;
        foreach (var row in crash.Skip(1))
        {
            var c = Columns(row);
            if (!rows.TryGetValue(c[3], out var ours))
            {
                Assert.True(leftOut.Contains(c[3]), $"kdx left out a task without saying so: {row}");
                continue;
            }
            if (ours == row)
            {
                same++;
                continue;
            }
            var k = Columns(ours);
            for (var i = 0; i < c.Length; i++)
                if (k[i] != c[i])
                    Assert.True(k[i] == "?" && (i == 1 ? unknownParent.Contains(c[0]) : i is 5 or 6 or 7 && unknownMemory.Contains(c[0])),
                        $"column {i} of PID {c[0]}: crash '{c[i]}', kdx '{k[i]}' and stderr does not explain it");
        }
        Assert.DoesNotContain(victim.Address.ToString("x16"), text);
        Assert.Equal(crash.Length - 1 - leftOut.Count, rows.Count);
        Assert.Matches($@"\n.{mmOwner.Pid,8} +[\d?]+ +\d+  {mmOwner.Address:x16}  \w\w     \?        \?        \?  ", text);
        Assert.True(same > crash.Length / 2, $"only {same} rows equal crash's");
    }

    /// <summary>PID PPID CPU TASK ST %MEM VSZ RSS COMM (the '>' mark dropped).</summary>
    private static string[] Columns(string row) => row[1..].Split(' ', 9, StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void SysMarksTheFieldsItCannotReadAndPrintsTheRest()
    {
        string copy;
        ulong avenrun;
        {
            var (dump, space, kernel) = Open();
            using var _ = dump;
            avenrun = kernel.RequireSymbol("avenrun");
            copy = Without("sys", space, avenrun);
        }
        var (code, text, err) = Kdx("sys", copy);
        output.WriteLine(text + err);
        Assert.Equal(ExitCodes.Incomplete, code);
        Assert.Contains($"sys: cannot read avenrun at 0x{avenrun:x}: physical address 0x", err);
        var expected = Fields(Oracle("crash-sys.txt"));
        var actual = Fields(text);
        Assert.Equal("(page excluded from dump)", actual["LOAD AVERAGE"]);
        foreach (var label in (string[])["CPUS", "DATE", "UPTIME", "TASKS", "NODENAME", "RELEASE", "VERSION", "MACHINE", "MEMORY", "PANIC"])
            Assert.True(expected[label] == actual[label] || actual[label].Contains("(page excluded from dump)", StringComparison.Ordinal),
                $"{label}: crash '{expected[label]}', kdx '{actual[label]}'");
        Assert.Equal(Lines(err).Length, actual.Values.Count(v => v.Contains("(page excluded from dump)", StringComparison.Ordinal)));
    }

    private static Dictionary<string, string> Fields(string text) =>
        Lines(text).Where(l => l.Contains(": ", StringComparison.Ordinal)).Select(l => l.Split(": ", 2)).ToDictionary(p => p[0].Trim(), p => p[1].TrimEnd());

    [Fact]
    public void KmemMarksTheCountersItCannotReadAndPrintsTheRest()
    {
        string copy;
        ulong freeCounter;
        {
            var (dump, space, kernel) = Open();
            using var _ = dump;
            freeCounter = kernel.RequireSymbol("vm_zone_stat") + (ulong)kernel.Objects.Enumerator("NR_FREE_PAGES") * 8;
            copy = Without("kmem", space, freeCounter);
        }
        var (code, text, err) = Kdx("kmem", "-i", copy);
        output.WriteLine(text + err);
        Assert.Equal(ExitCodes.Incomplete, code);
        Assert.Contains($"kmem: cannot read vm_zone_stat[NR_FREE_PAGES] at 0x{freeCounter:x}: physical address 0x", err);
        var crash = Lines(Oracle("crash-kmem-i.txt"));
        var kdx = Lines(text);
        Assert.Equal(crash.Length, kdx.Length);
        var marked = 0;
        for (var i = 0; i < crash.Length; i++)
        {
            if (kdx[i] == crash[i])
                continue;
            var label = crash[i][..13];
            Assert.True(kdx[i] == $"{label}        ?            ?  (page excluded from dump)", $"crash '{crash[i]}', kdx '{kdx[i]}'");
            marked++;
        }
        Assert.Contains("         FREE        ?            ?  (page excluded from dump)", kdx);
        Assert.Contains("         USED        ?            ?  (page excluded from dump)", kdx); // TOTAL MEM - FREE
        Assert.True(marked < crash.Length / 2, $"{marked} rows marked");
    }

    [Fact]
    public void ModLeavesOutAModuleItCannotRead()
    {
        string copy;
        KernelModule crashtest;
        {
            var (dump, space, kernel) = Open();
            using var _ = dump;
            crashtest = KernelModules.Read(kernel).Single(m => m.Name == "crashtest");
            copy = Without("mod", space, kernel.Objects.AddressOf(crashtest.Address, "module", "list"));
        }
        var (code, text, err) = Kdx("mod", copy);
        output.WriteLine(text + err);
        Assert.Equal(ExitCodes.Incomplete, code);
        Assert.Contains($"mod: cannot read struct module at 0x{crashtest.Address:x} (the module is left out): physical address 0x", err);
        var expected = Lines(Oracle("crash-mod.txt")).Skip(1).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4)))
            .Where(l => !l.Contains(" crashtest ", StringComparison.Ordinal)).ToList();
        var actual = Lines(text).Skip(1).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4))).ToList();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void WithoutTheDumpsBtfTheErrorPointsToVmlinuxWhichThenGivesTheTypes()
    {
        string copy;
        {
            var (dump, space, kernel) = Open();
            using var _ = dump;
            copy = Without("btf", space, kernel.RequireSymbol("__start_BTF"));
        }
        var (code, text, err) = Kdx("ps", copy);
        output.WriteLine(err);
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("", text);
        Assert.Matches(@"^kdx: .*no kernel types for the task list: BTF pages not in the dump: physical address 0x[0-9a-f]+: page excluded from dump; --vmlinux FILE \(a vmlinux with a \.BTF section\) can give them\n$", err);

        var lab = LabCatalog.Build(LabCatalog.SysrqKdump());
        var vmlinux = Oracles.EnsureDebugVmlinux(lab.Metadata.Kernel, Console.Error);
        var (code2, text2, err2) = Kdx("ps", "--vmlinux", vmlinux, copy);
        Assert.Equal("", err2);
        Assert.Equal(0, code2);
        Assert.Equal(Oracle("crash-ps.txt"), text2);
    }
}
