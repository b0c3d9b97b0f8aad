// What a built scenario leaves in the cache: metadata.json, console.log, dump files, and (when
// asked) oracle outputs. Tests read scenarios through this type.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kdx.Lab;

public sealed record LabCapture(string Spec, string Id, IReadOnlyList<string> Files, string Format);

public sealed class LabMetadata
{
    public required string Scenario { get; init; }
    public required string Name { get; init; }
    public required string Kernel { get; init; }
    public required string KernelPackageVersion { get; init; }
    public required string Flavor { get; init; }
    public required string Crash { get; init; }
    public required string CaptureMethod { get; init; }
    public required IReadOnlyList<LabCapture> Captures { get; init; }
    [JsonPropertyName("ram_mib")]
    public int RamMiB { get; init; }
    public int Cpus { get; init; }
    public bool Kaslr { get; init; }
    public bool La57 { get; init; }
    [JsonPropertyName("crashkernel_mib")]
    public int CrashKernelMiB { get; init; }
    public required string ExpectedPanic { get; init; }
    public required string PanicMessage { get; init; }
    public string? MakedumpfileDmesg { get; init; }
    public required string InputsHash { get; init; }
    public required string BuiltUtc { get; init; }
    public double BuildSeconds { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(LabMetadata))]
public sealed partial class LabJson : JsonSerializerContext;

public sealed class LabResult
{
    public const string MetadataFile = "metadata.json";

    private LabResult(string dir, LabMetadata m)
    {
        Directory = dir;
        Metadata = m;
    }

    public string Directory { get; }
    public LabMetadata Metadata { get; }
    public string ConsoleLog => Path.Combine(Directory, "console.log");

    /// <summary>The first file of the capture with this id (e.g. "qemu-elf", "kdump-mdf-l-d31").</summary>
    public string Dump(string captureId) => Files(captureId)[0];

    public IReadOnlyList<string> Files(string captureId)
    {
        var c = Metadata.Captures.FirstOrDefault(c => c.Id == captureId)
                ?? throw new LabException($"scenario {Metadata.Name} has no capture '{captureId}' (has: {string.Join(", ", Metadata.Captures.Select(c => c.Id))})");
        return c.Files.Select(f => Path.Combine(Directory, f)).ToList();
    }

    public string KernelRoot => Path.Combine(LabPaths.Kernels, Metadata.Kernel);
    public string SystemMap => Path.Combine(KernelRoot, "boot", $"System.map-{Metadata.Kernel}");

    public static LabResult Load(string dir)
    {
        var path = Path.Combine(dir, MetadataFile);
        var m = JsonSerializer.Deserialize(File.ReadAllText(path), LabJson.Default.LabMetadata)
                ?? throw new LabException($"{path}: empty metadata");
        return new LabResult(dir, m);
    }
}

/// <summary>Names a dump file's format from its first bytes (the lab's own check; kdx has the real reader).</summary>
public static class DumpSignature
{
    public static string Of(string file)
    {
        Span<byte> head = stackalloc byte[18];
        using (var f = File.OpenRead(file))
            head = head[..f.Read(head)];
        if (head.StartsWith("\u007fELF"u8))
            return "elf";
        if (head.StartsWith("KDUMP   "u8))
            return "kdump";
        if (head.StartsWith("makedumpfile\0"u8))
            return "flattened";
        if (head.StartsWith("DISKDUMP"u8))
            return "diskdump";
        return "unknown";
    }
}
