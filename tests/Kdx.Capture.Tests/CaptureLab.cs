// Shared inputs for the capture tests: the lab's real dumps, and kdx and makedumpfile 1.7.2
// outputs made from them once per test run (kept in a temporary folder, removed at exit).
using System.Collections.Concurrent;
using Kdx.Capture;
using Kdx.Dump.Compression;
using Kdx.Lab;

namespace Kdx.Capture.Tests;

internal static class CaptureLab
{
    private static readonly Lazy<LabResult> s_rawElf = new(() => LabCatalog.Build(LabCatalog.SysrqKdumpRawElf()));
    private static readonly Lazy<LabResult> s_qemu = new(() => LabCatalog.Build(LabCatalog.SysrqQemu()));
    private static readonly ConcurrentDictionary<string, Lazy<string>> s_outputs = new();
    private static readonly Lazy<string> s_qemuPhdrsFirst = new(() => QemuElfCopy.WithProgramHeadersFirst(Input("qemu-elf"), TempPath("qemu-elf-phdrs-first")));
    private static readonly string s_dir = CreateDir();

    /// <summary>The raw /proc/vmcore copy from a real capture kernel (384 MiB guest).</summary>
    public static string RawElf => s_rawElf.Value.Dump("kdump-cat");

    /// <summary>QEMU dump-guest-memory ELF of a 1 GiB guest, and QEMU's kdump-zlib of the same moment.</summary>
    public static LabResult Qemu => s_qemu.Value;

    public static string Input(string name) => name switch
    {
        "raw-elf" => RawElf,
        "qemu-elf" => Qemu.Dump("qemu-elf"),
        "qemu-elf-phdrs-first" => s_qemuPhdrsFirst.Value,
        _ => throw new ArgumentException(name),
    };

    public static string TempPath(string name) => Path.Combine(s_dir, name);

    /// <summary>kdx's kdump-compressed capture of an input (made once).</summary>
    public static string Kdx(string input, int level, KdumpFlags method) =>
        s_outputs.GetOrAdd($"kdx-{input}-{level}-{method}", key => new Lazy<string>(() =>
        {
            var path = TempPath(key);
            using var source = VmcoreSource.Open(Input(input));
            using (var sink = new FileSink(path))
            {
                var r = KdumpWriter.Write(source, sink, new CaptureOptions { Level = (DumpLevel)level, Compression = method, Threads = 2 });
                Assert.False(r.Incomplete, r.Failure);
            }
            return path;
        })).Value;

    /// <summary>makedumpfile 1.7.2's capture of an input with the given option (-l, -c).</summary>
    public static string Makedumpfile(string input, int level, string option) =>
        s_outputs.GetOrAdd($"mdf-{input}-{level}{option}", key => new Lazy<string>(() =>
        {
            var path = TempPath(key);
            var (code, output) = Run("makedumpfile", option, "-d", level.ToString(System.Globalization.CultureInfo.InvariantCulture), Input(input), path);
            Assert.True(code == 0, $"makedumpfile {option} -d {level}: {output}");
            return path;
        })).Value;

    /// <summary>A flattened dump rebuilt into a plain file by makedumpfile 1.7.2's -R (made once per test run).</summary>
    public static string RebuiltByMakedumpfile(string flattened)
    {
        var path = TempPath(Path.GetFileName(flattened) + ".rebuilt");
        if (!File.Exists(path))
        {
            var (code, output) = Run("sh", "-c", $"makedumpfile -R '{path}' < '{flattened}'");
            Assert.True(code == 0, output);
        }
        return path;
    }

    public static (int Code, string Output) Run(string file, params string[] args)
    {
        var r = global::Kdx.Lab.Sh.Try(file, args); // the lab's process runner: exit code, stdout, stderr
        return (r.ExitCode, r.Stdout + r.Stderr);
    }

    private static string CreateDir()
    {
        var dir = Directory.CreateTempSubdirectory("kdx-capture-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        };
        return dir;
    }
}
