// `kdx capture [options] VMCORE DUMPFILE`: makedumpfile's job, with its option syntax for what kdx
// implements — filter pages by dump level from the crashed kernel's own VMCOREINFO, compress
// them (zlib, LZO, snappy, zstd) and write a kdump-compressed file, an ELF core (-E), or either as
// a flattened stream (-F).
// Also -R (rebuild a flattened stream from stdin), --split (N files read together),
// --reassemble (a split set back into one file) and --dump-dmesg (the kernel log as text). The
// input may be any dump kdx reads, to filter it again or compress it differently.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Kdx.Capture;
using Kdx.Dump.Compression;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Log;

namespace Kdx.Cli.Commands;

public sealed class CaptureCommand : KdxCommand
{
    /// <summary>Exit code when the dump was written but is incomplete (the disk filled up, an I/O error).</summary>
    public const int IncompleteExit = 3;

    // makedumpfile's --message-level bits.
    private const int MsgProgress = 1, MsgCommon = 2, MsgError = 4, MsgReport = 16;

    public override Command Build()
    {
        var paths = new Argument<string[]>("VMCORE DUMPFILE")
        {
            Description = "Input core (/proc/vmcore, or any dump kdx reads) and output file; with -F the output goes to stdout, with -R the input comes from stdin; --split takes several DUMPFILEs, --reassemble several inputs.",
            Arity = new ArgumentArity(0, Kdx.Dump.DumpLimits.MaxSplitParts + 1),
        };
        var level = new Option<int>("-d", "--dump-level") { Description = "Dump level 0-31: pages to leave out (1 zero, 2 non-private cache, 4 all cache, 8 user data, 16 free).", DefaultValueFactory = _ => 0 };
        var zlib = new Option<bool>("-c") { Description = "Compress pages with zlib." };
        var lzo = new Option<bool>("-l") { Description = "Compress pages with LZO1X-1." };
        var snappy = new Option<bool>("-p") { Description = "Compress pages with snappy." };
        var zstd = new Option<bool>("-z") { Description = "Compress pages with zstd." };
        var elf = new Option<bool>("-E") { Description = "Write an ELF core instead of kdump-compressed (pages uncompressed)." };
        var flat = new Option<bool>("-F") { Description = "Write the flattened format to stdout (for pipes, ssh)." };
        var rebuild = new Option<bool>("-R") { Description = "Rebuild DUMPFILE from a flattened stream on stdin." };
        var threads = new Option<int>("--num-threads") { Description = "Compression workers (default: the CPUs available).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var messages = new Option<int>("--message-level") { Description = "Bits: 1 progress, 2 common, 4 errors, 16 report (default 7).", DefaultValueFactory = _ => 7 };
        var dryRun = new Option<bool>("--dry-run") { Description = "Classify pages and report, write nothing." };
        var memUsage = new Option<bool>("--mem-usage") { Description = "Show how the crashed machine's pages divide by type, write nothing." };
        var dmesg = new Option<bool>("--dump-dmesg") { Description = "Write the kernel log of VMCORE to DUMPFILE as text." };
        var stats = new Option<bool>("--show-stats") { Description = "Print page statistics at the end." };
        var split = new Option<bool>("--split") { Description = "Write the dump as several files (VMCORE DUMPFILE1 DUMPFILE2 ...), read together by kdx, crash and makedumpfile --reassemble." };
        var reassemble = new Option<bool>("--reassemble") { Description = "Join the files of a --split dump into one (SPLITFILE1 SPLITFILE2 ... DUMPFILE)." };
        var command = new Command("capture", "Write a filtered, compressed kdump file from /proc/vmcore (a makedumpfile replacement).")
        {
            paths, level, zlib, lzo, snappy, zstd, elf, flat, rebuild, threads, messages, dryRun, memUsage, dmesg, stats, split, reassemble,
        };
        command.SetAction(parse =>
        {
            var p = parse.GetValue(paths) ?? [];
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var msg = parse.GetValue(messages);
            if (parse.GetValue(rebuild))
            {
                if (p.Length != 1)
                    throw new UsageException("-R takes one argument, DUMPFILE, and reads the flattened stream from stdin");
                Rebuild(Console.OpenStandardInput(), p[0]);
                return ExitCodes.Ok;
            }
            if (parse.GetValue(dmesg))
            {
                if (p.Length != 2)
                    throw new UsageException("--dump-dmesg takes VMCORE and FILE");
                DumpDmesg(p[0], p[1]);
                return ExitCodes.Ok;
            }
            var n = parse.GetValue(threads);
            if (n is < 1 or > 64)
                throw new UsageException("--num-threads must be 1-64");
            if (parse.GetValue(reassemble))
            {
                if (p.Length < 3)
                    throw new UsageException("--reassemble takes the split files and DUMPFILE");
                using var parts = VmcoreSource.Open(p[..^1]);
                if (!parts.Dump.FormatDescription.Contains("split", StringComparison.Ordinal))
                    throw new UsageException($"{p[0]}: not the files of a --split dump ({parts.Dump.FormatDescription})");
                // The same pages and compression as the parts: their level applied again keeps what they kept.
                var same = new CaptureOptions
                {
                    Level = (DumpLevel)(parts.Dump.DumpLevel ?? 0),
                    Compression = MethodOf(parts.Dump.Compression),
                    Threads = n,
                };
                return Capture(parts, same, false, [p[^1]], msg, parse.GetValue(stats), stderr);
            }
            var d = parse.GetValue(level);
            if (d is < 0 or > 31)
                throw new UsageException($"dump level {d} is not in 0-31");
            var methods = new List<KdumpFlags>();
            if (parse.GetValue(zlib)) methods.Add(KdumpFlags.Zlib);
            if (parse.GetValue(lzo)) methods.Add(KdumpFlags.Lzo);
            if (parse.GetValue(snappy)) methods.Add(KdumpFlags.Snappy);
            if (parse.GetValue(zstd)) methods.Add(KdumpFlags.Zstd);
            if (methods.Count > 1)
                throw new UsageException("choose one of -c, -l, -p, -z");
            var asElf = parse.GetValue(elf);
            if (asElf && methods.Count > 0)
                throw new UsageException("-E writes uncompressed ELF: drop -c, -l, -p, -z");
            var toStdout = parse.GetValue(flat);
            var report = parse.GetValue(dryRun) || parse.GetValue(memUsage);
            var splitting = parse.GetValue(split);
            if (splitting && (toStdout || asElf || report))
                throw new UsageException("--split writes kdump-compressed files: drop -F, -E, --dry-run, --mem-usage");
            if (splitting ? p.Length < 3 : p.Length != (toStdout || report ? 1 : 2))
                throw new UsageException(splitting ? "--split takes VMCORE and two or more DUMPFILEs" : toStdout ? "-F writes to stdout: give only VMCORE" : report ? "give only VMCORE" : "give VMCORE and DUMPFILE");
            var options = new CaptureOptions { Level = (DumpLevel)d, Compression = methods.Count == 0 ? KdumpFlags.None : methods[0], Threads = n };
            using var source = VmcoreSource.Open(p[0]);
            if (report)
                return DryRun(source, options, parse.GetValue(memUsage), stdout, msg);
            return Capture(source, options, asElf, toStdout ? null : p[1..], msg, parse.GetValue(stats), stderr);
        });
        return command;
    }

    // Writes to DUMPFILE-incomplete (each part of a split set alike) and renames when done; null paths: flattened to stdout.
    private static int Capture(VmcoreSource source, CaptureOptions options, bool elf, string[]? paths, int msg, bool stats, TextWriter stderr)
    {
        var progress = new ProgressLine(stderr, (msg & MsgProgress) != 0, source.PageSize);
        options = options with { Progress = progress.Report };
        var clock = Stopwatch.StartNew();
        CaptureResult result;
        var sinks = new List<IDumpSink>();
        try
        {
            if (paths is null)
                sinks.Add(new FlattenedSink(Console.OpenStandardOutput()));
            else
                foreach (var p in paths)
                    sinks.Add(new FileSink(p + "-incomplete"));
            result = elf ? ElfWriter.Write(source, sinks[0], options) : KdumpWriter.Write(source, sinks, options);
        }
        finally
        {
            foreach (var sink in sinks)
                sink.Dispose();
        }
        progress.Done();
        foreach (var p in paths ?? [])
            File.Move(p + "-incomplete", p, overwrite: true);
        var path = paths is null ? null : string.Join(", ", paths);
        if ((msg & MsgCommon) != 0)
            foreach (var problem in source.MappingFailure is { } m ? result.Problems.Append(m) : result.Problems)
                stderr.WriteLine($"kdx capture: {problem}");
        if (stats || (msg & MsgReport) != 0)
            WriteStats(result, source.PageSize, stderr);
        if (result.Incomplete)
        {
            if ((msg & MsgError) != 0)
                stderr.WriteLine($"kdx capture: {result.Failure}: {path ?? "the output"} is incomplete ({result.WrittenPages} of {result.DumpablePages} pages written) and marked so in its header");
            return IncompleteExit;
        }
        if ((msg & MsgCommon) != 0)
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"kdx capture: {path ?? "stdout"}: {result.DumpablePages} of {result.PresentPages} pages, {result.FileSize} bytes, {clock.Elapsed.TotalSeconds:0.0} s"));
        return ExitCodes.Ok;
    }

    // The method a dump's compression name ("zlib", "lzo", ...) stands for; the first of a mixed set.
    private static KdumpFlags MethodOf(string names) => names.Split('+')[0] switch
    {
        "zlib" => KdumpFlags.Zlib,
        "lzo" => KdumpFlags.Lzo,
        "snappy" => KdumpFlags.Snappy,
        "zstd" => KdumpFlags.Zstd,
        _ => KdumpFlags.None,
    };

    private static int DryRun(VmcoreSource source, CaptureOptions options, bool memUsage, TextWriter o, int msg)
    {
        var classifier = new PageClassifier(source, memUsage ? DumpLevel.All : options.Level);
        var chunk = classifier.ChunkPages;
        var present = new ulong[chunk / 64];
        var dumpable = new ulong[chunk / 64];
        ulong presentPages = 0, kept = 0;
        for (ulong first = 0; first < source.MaxMapnr; first += chunk)
        {
            var count = Math.Min(chunk, source.MaxMapnr - first);
            classifier.Classify(first, count, present, dumpable);
            for (var i = 0; i < (int)((count + 63) / 64); i++)
            {
                presentPages += (ulong)System.Numerics.BitOperations.PopCount(present[i]);
                kept += (ulong)System.Numerics.BitOperations.PopCount(dumpable[i]);
            }
        }
        if ((msg & MsgCommon) != 0)
            foreach (var problem in classifier.Problems)
                o.WriteLine($"note: {problem}");
        var c = classifier.Counts;
        var ps = (ulong)source.PageSize;
        string Line(string what, ulong pages) => string.Create(CultureInfo.InvariantCulture, $"{what,-24}{pages,12} {pages * ps / 1024,12} KiB");
        o.WriteLine($"{"TYPE",-24}{"PAGES",12} {"SIZE",16}");
        o.WriteLine(Line("free", c.Free));
        o.WriteLine(Line("cache (no private)", c.Cache));
        o.WriteLine(Line("cache (private)", c.CachePrivate));
        o.WriteLine(Line("user data", c.User));
        o.WriteLine(Line("hwpoison + offline", c.HwPoison + c.Offline));
        o.WriteLine(Line("kernel and other", kept));
        o.WriteLine(Line("total present", presentPages));
        if (!memUsage)
            o.WriteLine($"dump level {(int)options.Level} keeps {kept} pages before zero-page detection ({kept * ps >> 20} MiB uncompressed)");
        return ExitCodes.Ok;
    }

    private static void WriteStats(CaptureResult r, int pageSize, TextWriter o)
    {
        var e = r.Excluded;
        o.WriteLine("Original pages  : 0x" + r.PresentPages.ToString("x16", CultureInfo.InvariantCulture));
        o.WriteLine($"  Excluded pages   : 0x{e.Total + r.ZeroPages:x16}");
        o.WriteLine($"    Pages filled with zero  : 0x{r.ZeroPages:x16}");
        o.WriteLine($"    Non-private cache pages : 0x{e.Cache:x16}");
        o.WriteLine($"    Private cache pages     : 0x{e.CachePrivate:x16}");
        o.WriteLine($"    User process data pages : 0x{e.User:x16}");
        o.WriteLine($"    Free pages              : 0x{e.Free:x16}");
        o.WriteLine($"    Hwpoison pages          : 0x{e.HwPoison:x16}");
        o.WriteLine($"    Offline pages           : 0x{e.Offline:x16}");
        o.WriteLine($"  Remaining pages  : 0x{r.DumpablePages - r.ZeroPages:x16}");
        o.WriteLine($"Memory Hole     : 0x{r.MaxMapnr - r.PresentPages:x16}");
        o.WriteLine($"--------------------------------------------------");
        o.WriteLine($"Total pages     : 0x{r.MaxMapnr:x16}");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Write bytes     : {r.FileSize}  (page size {pageSize})"));
    }

    private static void DumpDmesg(string vmcore, string output)
    {
        using var dump = Kdx.Dump.DumpFile.Open(vmcore);
        var info = dump.VmcoreInfo ?? throw new Kdx.Dump.DumpFormatException(vmcore, 0, "no VMCOREINFO note: cannot find the kernel log");
        var kernel = new DumpedKernel(KernelMemory.Open(dump), info);
        File.WriteAllText(output, LogFormatter.Format(kernel.Log.Records));
    }

    /// <summary>Rebuilds a file from makedumpfile's flattened stream: each record's data goes at its offset.</summary>
    public static void Rebuild(Stream input, string path)
    {
        Span<byte> head = stackalloc byte[16];
        var header = new byte[FlattenedSink.HeaderSize];
        input.ReadExactly(header);
        if (!header.AsSpan().StartsWith("makedumpfile\0"u8))
            throw new Kdx.Dump.DumpFormatException("stdin", 0, "not a flattened dump stream (no \"makedumpfile\" signature)");
        var buffer = new byte[1 << 20];
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        long position = header.Length;
        while (true)
        {
            input.ReadExactly(head);
            var offset = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(head);
            var size = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(head[8..]);
            if (offset == -1 && size == -1)
                return;
            if (offset < 0 || size < 0 || size > 1L << 40)
                throw new Kdx.Dump.DumpFormatException("stdin", position, $"bad flattened record (offset {offset}, size {size})");
            position += 16;
            while (size > 0)
            {
                var n = (int)Math.Min(size, buffer.Length);
                input.ReadExactly(buffer, 0, n);
                RandomAccess.Write(handle, buffer.AsSpan(0, n), offset);
                offset += n;
                size -= n;
                position += n;
            }
        }
    }

    // Progress: one updating line on a terminal, a plain line per 10% otherwise.
    // makedumpfile's "Copying data" line: percent of the pages to write, MB/s of page data read,
    // and the time left. On a terminal one line redrawn at each percent; otherwise (a kdump log,
    // a serial console) a line at every 10% and at most every 5 s in between.
    private sealed class ProgressLine(TextWriter o, bool enabled, int pageSize)
    {
        private readonly bool _tty = !Console.IsErrorRedirected;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _last = -1;
        private TimeSpan _lastLine;

        public void Report(ulong done, ulong total)
        {
            if (!enabled || total == 0)
                return;
            var pct = (int)(done * 100 / total);
            var now = _clock.Elapsed;
            var due = _tty ? pct != _last : pct / 10 != _last / 10 || (pct != _last && now - _lastLine >= TimeSpan.FromSeconds(5));
            _last = pct;
            if (!due)
                return;
            _lastLine = now;
            var seconds = Math.Max(now.TotalSeconds, 1e-3);
            var rate = done * (double)pageSize / 1e6 / seconds;
            var eta = done == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" eta {Math.Ceiling(seconds * (total - done) / done):0}s");
            var line = string.Create(CultureInfo.InvariantCulture, $"Copying data : [{pct,3} %] {rate,7:0.0} MB/s{eta}");
            if (_tty)
                o.Write($"\r{line}   ");
            else
                o.WriteLine(line);
        }

        public void Done()
        {
            if (enabled && _tty && _last >= 0)
                o.WriteLine();
        }
    }
}
