// The crash lab's real dumps (~/.cache/kdx-lab/scenarios/<scenario>/): every capture of the
// 6.1 kernel, opened with Kdx.Dump's readers and Kdx.Kernel's x86_64 address space, plus the
// scenario's oracles (makedumpfile's and crash's log text, the expected panic line).
using System.Collections.Concurrent;
using System.Text.Json;
using Kdx.Dump;
using Kdx.Kernel.Arch.X86_64;

namespace Kdx.Kernel.Tests.Support;

public static class LabDumps
{
    public static string ScenariosDir =>
        Environment.GetEnvironmentVariable("KDX_LAB_CACHE") is { } c
            ? Path.Combine(c, "scenarios")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kdx-lab", "scenarios");

    /// <summary>Each capture as "scenario/file" (a split set as its first part), for test names.</summary>
    public static IReadOnlyList<string> Captures()
    {
        if (!Directory.Exists(ScenariosDir))
            return [];
        var list = new List<string>();
        foreach (var dir in Directory.GetDirectories(ScenariosDir, Oracles.Release + "_*").Order(StringComparer.Ordinal))
            foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file);
                if (name.EndsWith(".vmcore", StringComparison.Ordinal) || name.EndsWith(".vmcore.1", StringComparison.Ordinal))
                    list.Add(Path.GetRelativePath(ScenariosDir, file));
            }
        return list;
    }

    private static readonly ConcurrentDictionary<string, Lazy<(IDumpFile Dump, DumpedKernel Kernel)>> Open = new();

    /// <summary>The capture opened once per test run (kallsyms and BTF decoded once, shared by the tests).</summary>
    public static (IDumpFile Dump, DumpedKernel Kernel) Load(string capture) =>
        Open.GetOrAdd(capture, c => new(() =>
        {
            var path = Path.Combine(ScenariosDir, c);
            var paths = path.EndsWith(".1", StringComparison.Ordinal)
                ? Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path)[..^1] + "*").Order(StringComparer.Ordinal).ToArray()
                : [path];
            var dump = DumpFile.Open(paths);
            return (dump, new DumpedKernel(KernelMemory.Open(dump), dump.VmcoreInfo!));
        })).Value;

    public static string ScenarioDir(string capture) => Path.Combine(ScenariosDir, Path.GetDirectoryName(capture)!);

    /// <summary>metadata.json's expected_panic: a regular expression the log must match.</summary>
    public static string ExpectedPanic(string capture)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ScenarioDir(capture), "metadata.json")));
        return doc.RootElement.GetProperty("expected_panic").GetString()!;
    }
}
