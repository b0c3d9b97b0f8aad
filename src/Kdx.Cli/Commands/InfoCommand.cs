// `kdx info DUMP...`: what a dump file is and what it holds — format, compression, dump level,
// completeness, page counts, CPUs and the VMCOREINFO basics.
using System.CommandLine;
using System.Globalization;
using Kdx.Dump;
using Kdx.Kernel.Arch.X86_64;

namespace Kdx.Cli.Commands;

public sealed class InfoCommand : KdxCommand
{
    public override Command Build()
    {
        var dumps = new Argument<string[]>("DUMP")
        {
            Description = "The dump file (several for the parts of a makedumpfile --split set).",
            Arity = ArgumentArity.OneOrMore,
        };
        var vmcoreinfo = new Option<bool>("--vmcoreinfo") { Description = "Also print every VMCOREINFO key." };
        var command = new Command("info", "Describe a kernel dump: format, compression, dump level, page counts, CPUs, kernel release and crash time.")
        {
            dumps,
            vmcoreinfo,
        };
        command.SetAction(parse =>
        {
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumps));
            Write(dump, parse.GetValue(vmcoreinfo), parse.InvocationConfiguration.Output);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static void Write(IDumpFile dump, bool vmcoreinfo, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var p in dump.Paths)
            o.WriteLine($"file:          {p}");
        o.WriteLine($"format:        {dump.FormatDescription}");
        o.WriteLine($"machine:       {dump.Machine ?? "unknown"}");
        o.WriteLine($"compression:   {dump.Compression}");
        o.WriteLine($"dump level:    {(dump.DumpLevel is { } l ? l.ToString(inv) : "unknown (not recorded by this format)")}");
        o.WriteLine($"incomplete:    {(dump.IsIncomplete ? "YES (the writer was cut short; some pages are lost)" : "no")}");
        o.WriteLine($"page size:     {dump.PageSize}");
        var c = dump.CountPages();
        o.WriteLine($"pfns:          0x{dump.MaxPfn:x} ({dump.MaxPfn} pages, {FormatBytes(dump.MaxPfn * (ulong)dump.PageSize)})");
        o.WriteLine($"pages:         present {c.Present}, zero {(c.Zero is { } z ? z.ToString(inv) : "unknown")}, excluded {c.Excluded}, hole {c.Hole}, lost {c.Lost}");
        var info = dump.VmcoreInfo;
        o.WriteLine($"osrelease:     {info?.OsRelease ?? "unknown"}");
        o.WriteLine($"crashtime:     {(info?.CrashTime is { } t ? $"{DateTimeOffset.FromUnixTimeSeconds(t).UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC ({t})" : "unknown")}");
        o.WriteLine($"vmcoreinfo:    {(info is null ? "absent" : $"{info.Entries.Count} keys")}");
        if (info is not null)
            o.WriteLine($"paging:        {Paging(dump, info)}");
        o.WriteLine($"cpus:          {dump.Cpus.Count} (NT_PRSTATUS notes)");
        foreach (var cpu in dump.Cpus)
            o.WriteLine($"  cpu {cpu.Cpu,-3} pid {cpu.Pid,-7} ip {cpu.Ip:x16}  sp {cpu.Sp:x16}  cs {cpu.Cs:x}  flags {cpu.Flags:x}");
        foreach (var q in dump.QemuCpus)
            o.WriteLine($"  qemu cpu {q.Cpu,-3} rip {q.Rip:x16}  rsp {q.Rsp:x16}  cr3 {q.Cr3:x}  gs_base {q.GsBase:x}{(q.KernelGsBase is { } k ? $"  kernel_gs_base {k:x}" : "")}");
        if (vmcoreinfo && info is not null)
        {
            o.WriteLine();
            foreach (var (key, value) in info.Entries)
                o.WriteLine($"{key}={value}");
        }
    }

    // The kernel address space as the page tables show it; a dump whose tables cannot be read
    // still gets the rest of its description.
    private static string Paging(IDumpFile dump, VmcoreInfo info)
    {
        try
        {
            var space = KernelMemory.Open(dump);
            var directMap = space.DirectMapBase is { } b ? $"0x{b:x}" : "not found";
            return $"{space.Levels}-level, KASLR offset 0x{info.KernelOffset:x}, direct map {directMap}";
        }
        catch (Exception e) when (e is DumpFormatException or PageNotInDumpException)
        {
            return $"unknown ({e.Message})";
        }
    }

    private static string FormatBytes(ulong n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        var v = (double)n;
        var u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return string.Create(CultureInfo.InvariantCulture, $"{v:0.#} {units[u]}");
    }
}
