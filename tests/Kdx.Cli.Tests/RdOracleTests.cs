// `kdx rd` against crash 9's `rd` (with the -dbg vmlinux, through Kdx.Lab.Oracles.Crash) on the
// same dump: kernel data and text at symbol addresses with KASLR on, a module's text, the direct
// map and physical addresses, on a real kdump, on QEMU's ELF and on a 5-level-paging guest. kdx
// finds the symbols in the dump's own kallsyms; crash in the debug vmlinux. Every line must match.
using System.Globalization;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Modules;
using Kdx.Lab;
using Xunit.Abstractions;

namespace Kdx.Cli.Tests;

[Trait("Category", "Lab")]
public sealed class RdOracleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Scenarios() => ["sysrq-kdump", "sysrq-qemu", "la57-qemu"];

    private static readonly Dictionary<string, Func<Scenario>> Catalog = new()
    {
        ["sysrq-kdump"] = LabCatalog.SysrqKdump,   // makedumpfile -l -d 31, KASLR
        ["sysrq-qemu"] = LabCatalog.SysrqQemu,     // QEMU ELF, KASLR
        ["la57-qemu"] = LabCatalog.La57Qemu,       // QEMU ELF, 5-level paging, KASLR
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Rd_prints_what_crash_prints(string scenario)
    {
        var lab = LabCatalog.Build(Catalog[scenario]());
        var dump = lab.Dump(lab.Metadata.Captures[0].Id);
        Assert.True(lab.Metadata.Kaslr);

        // Addresses only kdx can tell before crash runs: a module's text, and the physical and
        // direct-map addresses of linux_banner.
        ulong module, banner, phys, direct;
        using (var file = DumpFile.Open(dump))
        {
            var space = KernelMemory.Open(file);
            var kernel = new DumpedKernel(space, file.VmcoreInfo!);
            Assert.Equal(lab.Metadata.La57 ? 5 : 4, space.Levels);
            Assert.NotEqual(0UL, file.VmcoreInfo!.KernelOffset);
            module = KernelModules.Read(kernel).First().Base;
            banner = kernel.RequireSymbol("linux_banner");
            phys = banner - 0xffffffff80000000 + (ulong)file.VmcoreInfo.Number("phys_base")!.Value;
            direct = space.DirectMapBase!.Value + phys;
        }
        string Hex(ulong v) => v.ToString("x", CultureInfo.InvariantCulture);
        string[][] commands =
        [
            ["linux_banner", "8"],                // kernel rodata, 64-bit words and ASCII
            ["-32", "init_uts_ns", "12"],
            ["-8", "_stext", "37"],               // kernel text, bytes; a partial last line
            ["-16", "start_kernel", "9"],          // .init.text: freed after boot, poisoned with int3 (0xcc)
            ["init_task", "11"],
            ["-x", "jiffies_64", "3"],
            [Hex(module), "6"],                   // a module's text (vmalloc'd module space)
            ["-p", Hex(phys), "4"],               // physical, right-aligned address
            ["-p", "-8", Hex(phys + 3), "21"],
            [Hex(direct), "4"],                   // the same bytes through the direct map
        ];
        var crash = Oracles.Crash(lab, string.Join("\n", commands.Select(c => "rd " + string.Join(' ', c))));
        var kdx = "";
        var excluded = new List<string>();
        foreach (var c in commands)
        {
            var (code, o, e) = Kdx(["rd", dump, .. c]);
            if (code == 2 && e.Contains("page excluded from dump", StringComparison.Ordinal))
                excluded.Add(c[^2]); // crash prints its "page excluded" error to the console, not to the output file
            else
                Assert.True(code == 0, $"kdx rd {string.Join(' ', c)} exited {code}: {e}");
            kdx += o;
        }
        output.WriteLine(kdx);
        // crash prints -x lines with a space after the last value; kdx does not.
        Assert.Equal(Lines(crash), Lines(kdx));
        Assert.Contains("Linux version 6.", kdx);
        // Free pages are left out at dump level 31: the freed .init.text of start_kernel is one.
        Assert.Equal(lab.Metadata.CaptureMethod.StartsWith("qemu", StringComparison.Ordinal) ? [] : ["start_kernel"], excluded);
        Assert.Equal(excluded.Count == 0 ? 29 : 27, Lines(kdx).Length);
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToArray();

    private static (int Code, string Out, string Err) Kdx(string[] args) => KdxInProcess.Run(args);
}
