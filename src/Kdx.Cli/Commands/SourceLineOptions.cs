// `-l` and the debuginfo options shared by bt, dis and sym: --vmlinux (a -dbg vmlinux with DWARF
// line tables), --debug-dir (searched for modules' NAME.ko), --source (a kernel source tree for the
// lines around a position). Without debuginfo, -l says once what it needs and the command prints
// everything else as usual.
using System.CommandLine;
using System.Globalization;
using Kdx.Kernel;
using Kdx.Kernel.Debuginfo;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Unwind;

namespace Kdx.Cli.Commands;

public sealed class SourceLineOptions
{
    public const string NeedsDebuginfo = "(source lines need --vmlinux with a DWARF vmlinux, e.g. Debian's linux-image-*-dbg, or --debug-dir for modules)";

    public Option<bool> Lines { get; } = new("--lines", "-l") { Description = "Add source file:line (needs --vmlinux with DWARF, or --debug-dir for modules)." };
    public Option<string?> Vmlinux { get; } = new("--vmlinux") { Description = "A vmlinux with DWARF line tables matching the dump (e.g. /usr/lib/debug/boot/vmlinux-RELEASE)." };
    public Option<string?> DebugDir { get; } = new("--debug-dir") { Description = "A directory searched for modules' NAME.ko files with DWARF (e.g. /usr/lib/debug/lib/modules/RELEASE)." };
    public Option<string?> Source { get; } = new("--source") { Description = "A kernel source tree: print the source lines around each position." };

    public void AddTo(Command command, bool withSource)
    {
        command.Options.Add(Lines);
        command.Options.Add(Vmlinux);
        command.Options.Add(DebugDir);
        if (withSource)
            command.Options.Add(Source);
    }

    /// <summary>
    /// The line lookup when -l was given, else null. When -l was given without usable debuginfo,
    /// writes <see cref="NeedsDebuginfo"/> once and returns null.
    /// </summary>
    public FrameLines? Open(ParseResult parse, DumpedKernel kernel, TextWriter output)
    {
        if (!parse.GetValue(Lines))
            return null;
        var vmlinux = parse.GetValue(Vmlinux);
        var debugDir = parse.GetValue(DebugDir);
        if (vmlinux is not null && !File.Exists(vmlinux))
            throw new UsageException($"--vmlinux {vmlinux}: no such file");
        if (debugDir is not null && !Directory.Exists(debugDir))
            throw new UsageException($"--debug-dir {debugDir}: no such directory");
        var lines = KernelSourceLines.Open(kernel, vmlinux, debugDir, out var mismatch);
        if (mismatch is not null)
        {
            lines.Dispose();
            throw new UsageException($"--vmlinux {vmlinux}: {mismatch}; give the vmlinux of the dumped build");
        }
        if (!lines.Available)
        {
            lines.Dispose();
            output.WriteLine(vmlinux is null ? NeedsDebuginfo : $"({vmlinux} has no DWARF line tables (.debug_line); {NeedsDebuginfo[1..]}");
            return null;
        }
        return new FrameLines(lines, parse.GetValue(Source));
    }
}

/// <summary>Source positions of addresses and backtrace frames, and the source text around them.</summary>
public sealed class FrameLines(KernelSourceLines lines, string? sourceDir) : IDisposable
{
    public string? SourceDir => sourceDir;

    /// <summary>
    /// A frame's line: the ip itself for the first frame of a task that was running and for a frame
    /// entered from pt_regs, else the call's own byte (return address - 1), as gdb and crash do.
    /// </summary>
    public SourceLine? ForFrame(Backtrace b, BacktraceFrame f)
    {
        if (f.Stack == "user" || f.Ip == 0)
            return null;
        var i = f.Index; // the frame's position in b.Frames
        var exact = i <= 0 || i > b.Frames.Count ? b.Active : b.Frames[i - 1].Regs is not null;
        return ForAddress(exact ? f.Ip : f.Ip - 1, f.Module, f.Symbol);
    }

    /// <summary>The line of <paramref name="address"/>; <paramref name="symbol"/> is the kallsyms symbol containing it (any offset).</summary>
    public SourceLine? ForAddress(ulong address, string? module, SymbolLocation? symbol) =>
        lines.Lookup(address, module, symbol);

    /// <summary>crash's shape for a position: "FILE: LINE".</summary>
    public static string Format(SourceLine line) => string.Create(CultureInfo.InvariantCulture, $"{line.File}: {line.Line}");

    /// <summary>Most source lines printed around a position.</summary>
    public const int ContextRadius = 5;

    /// <summary>
    /// Lines [line-radius+1, line+radius] of the file under --source, each as "NNNN\ttext" (the
    /// position's own line marked with '>'), or a one-line note when the file is not found.
    /// </summary>
    public IEnumerable<string> Context(SourceLine line, int radius = ContextRadius)
    {
        if (sourceDir is null)
            yield break;
        if (FindSource(sourceDir, line.File) is not { } path)
        {
            yield return $"(no {line.File} under {sourceDir})";
            yield break;
        }
        var first = (int)Math.Max(1, (long)line.Line - radius + 1);
        var last = (long)line.Line + radius;
        var n = 0;
        foreach (var text in File.ReadLines(path))
        {
            n++;
            if (n < first)
                continue;
            if (n > last)
                yield break;
            yield return string.Create(CultureInfo.InvariantCulture, $"{(n == line.Line ? ">" : " ")}{n,5}\t{text}");
        }
    }

    /// <summary>
    /// The file a line table names, under a source tree: the path itself under DIR, then with its
    /// leading components dropped one by one (build paths such as
    /// /build/reproducible-path/linux-6.1.192/ or debian/build/build_amd64_none_amd64/ differ from where the tree is).
    /// </summary>
    public static string? FindSource(string dir, string file)
    {
        var parts = file.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var skip = 0; skip < parts.Length; skip++)
        {
            var candidate = Path.Combine(dir, string.Join('/', parts[skip..]));
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    public void Dispose() => lines.Dispose();
}
