// A crash-lab scenario: which kernel, how it crashes, how the dump is captured, and the guest's
// shape. Its canonical text (plus the fingerprints of every input) names its cache entry.
using System.Globalization;
using System.Text;

namespace Kdx.Lab;

public enum CrashKind { Sysrq, Nmi, Oops, Bug, Warn, Softlockup, Hung, Oom, Script }

/// <summary>
/// How a dump is taken. Kdump captures run inside a real kexec'd capture kernel in the guest;
/// QEMU captures are taken by the monitor's dump-guest-memory once the guest has panicked.
/// </summary>
public sealed record CaptureSpec(string Method, string Arguments)
{
    public const string QemuElf = "qemu-elf";
    public const string QemuKdumpZlib = "qemu-kdump-zlib";
    public const string QemuKdumpLzo = "qemu-kdump-lzo";
    public const string QemuKdumpSnappy = "qemu-kdump-snappy";
    public const string KdumpCat = "kdump-cat";
    public const string KdumpMakedumpfile = "kdump-mdf";
    /// <summary>kdx capture as the core collector; the scenario must carry the kdx binary as --file PATH:kdx.</summary>
    public const string KdumpKdx = "kdump-kdx";

    public bool IsQemu => Method.StartsWith("qemu-", StringComparison.Ordinal);

    /// <summary>makedumpfile's --split writes this many parts.</summary>
    public const int SplitParts = 3;

    public bool IsFlattened => Method is KdumpMakedumpfile or KdumpKdx && Words.Contains("-F");
    public bool IsSplit => Method is KdumpMakedumpfile or KdumpKdx && Words.Contains("--split");

    public IReadOnlyList<string> Words => Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Parses "qemu-elf", "kdump-cat" or "kdump-mdf:-l -d 31" (commas also separate words).</summary>
    public static CaptureSpec Parse(string text)
    {
        var colon = text.IndexOf(':');
        var method = colon < 0 ? text : text[..colon];
        var args = colon < 0 ? "" : string.Join(' ', text[(colon + 1)..].Split([' ', ','], StringSplitOptions.RemoveEmptyEntries));
        switch (method)
        {
            case QemuElf or QemuKdumpZlib or QemuKdumpLzo or QemuKdumpSnappy or KdumpCat:
                if (args.Length > 0)
                    throw new LabException($"capture '{method}' takes no arguments");
                break;
            case KdumpMakedumpfile or KdumpKdx:
                if (args.Length == 0)
                    throw new LabException($"{method} needs collector options, e.g. {method}:-l,-d,31");
                foreach (var w in args.Split(' '))
                    if (!w.StartsWith('-') && !w.All(char.IsAsciiDigit))
                        throw new LabException($"{method}: '{w}' is not an option (the lab names input and output itself)");
                break;
            default:
                throw new LabException($"unknown capture method '{method}' (qemu-elf, qemu-kdump-zlib, qemu-kdump-lzo, qemu-kdump-snappy, kdump-cat, kdump-mdf:OPTIONS, kdump-kdx:OPTIONS)");
        }
        return new CaptureSpec(method, args);
    }

    /// <summary>Stable, file-name-safe id: "qemu-elf", "kdump-mdf-l-d31".</summary>
    public string Id
    {
        get
        {
            if (Arguments.Length == 0)
                return Method;
            var sb = new StringBuilder(Method);
            foreach (var w in Words)
            {
                var t = w.TrimStart('-');
                if (t.All(char.IsAsciiDigit))
                    sb.Append(t);
                else
                    sb.Append('-').Append(t.Replace('=', '_'));
            }
            return sb.ToString();
        }
    }

    public override string ToString() => Arguments.Length == 0 ? Method : $"{Method}:{Arguments.Replace(' ', ',')}";
}

/// <summary>A file the guest needs beyond the standard set: an extra module or a script.</summary>
public sealed record ExtraModule(string Path, string Options);

/// <summary>A host file put into the guest as /lab/GuestName (executable).</summary>
public sealed record ExtraFile(string Path, string GuestName);

public sealed record Scenario
{
    public required string Kernel { get; init; }            // e.g. 6.1.0-56-amd64 (resolved, never "default")
    public required CrashKind Crash { get; init; }
    public required IReadOnlyList<CaptureSpec> Captures { get; init; }
    public int RamMiB { get; init; } = 1024;
    public int Cpus { get; init; } = 2;
    public bool Kaslr { get; init; } = true;
    public bool La57 { get; init; }
    public int CrashKernelMiB { get; init; } = 256;
    public IReadOnlyList<ExtraModule> ExtraModules { get; init; } = [];
    public string? ScriptPath { get; init; }
    /// <summary>Extra host files copied into the guest's /lab/ folder (e.g. a NativeAOT kdx), by guest name.</summary>
    public IReadOnlyList<ExtraFile> ExtraFiles { get; init; } = [];
    /// <summary>A shell script the capture kernel runs (after its modules, before the collectors).</summary>
    public string? CaptureScriptPath { get; init; }
    public string ExtraCmdline { get; init; } = "";

    /// <summary>
    /// Which boot of an otherwise identical scenario: 0 is the usual one; 1, 2... are further,
    /// separately cached boots (their own KASLR offset, PIDs and timing). Only the cache key sees it.
    /// </summary>
    public int Boot { get; init; }

    public bool UsesKdump => Captures.Count > 0 && !Captures[0].IsQemu;

    /// <summary>Kernel flavor from the release: amd64, cloud-amd64, rt-amd64.</summary>
    public string Flavor => FlavorOf(Kernel);

    public static string FlavorOf(string release)
    {
        // 6.1.0-56-cloud-amd64 -> cloud-amd64: everything after the ABI number.
        var parts = release.Split('-');
        return parts.Length >= 3 ? string.Join('-', parts[2..]) : release;
    }

    public void Validate()
    {
        if (Captures.Count == 0)
            throw new LabException("a scenario needs at least one capture");
        if (Captures.Any(c => c.IsQemu) && Captures.Any(c => !c.IsQemu))
            throw new LabException("one scenario captures either with kdump inside the guest or with QEMU, not both (kdump reboots the guest)");
        if (Captures.Select(c => c.Id).Distinct().Count() != Captures.Count)
            throw new LabException("the same capture is listed twice");
        if (RamMiB is < 256 or > 16384)
            throw new LabException("guest RAM must be 256..16384 MiB");
        if (Cpus is < 1 or > 16)
            throw new LabException("guest CPUs must be 1..16");
        if (UsesKdump && CrashKernelMiB * 2 > RamMiB)
            throw new LabException($"crashkernel={CrashKernelMiB}M does not fit a {RamMiB} MiB guest");
        if (Crash == CrashKind.Script && ScriptPath is null)
            throw new LabException("crash kind 'script' needs --script FILE");
        if (Crash != CrashKind.Script && ScriptPath is not null)
            throw new LabException("--script goes with crash kind 'script'");
        foreach (var f in ExtraFiles)
            if (!System.Text.RegularExpressions.Regex.IsMatch(f.GuestName, "^[A-Za-z0-9._-]+$") || f.GuestName is "init.sh" or "modules" or "modules.order")
                throw new LabException($"guest file name '{f.GuestName}' must be a plain name not used by the lab");
        if (Captures.Any(c => c.Method == CaptureSpec.KdumpKdx) && !ExtraFiles.Any(f => f.GuestName == "kdx"))
            throw new LabException("kdump-kdx runs /lab/kdx: add --file PATH:kdx with a NativeAOT kdx (dotnet publish src/Kdx.Cli -c Release -p:KdxAot=true)");
        if (Boot is < 0 or > 99)
            throw new LabException("boot must be 0..99");
        if (CaptureScriptPath is not null && !UsesKdump)
            throw new LabException("--capture-script runs in the kdump capture kernel: it needs a kdump capture");
        if (!System.Text.RegularExpressions.Regex.IsMatch(Kernel, @"^\d+\.\d+\.\d+-\d+-[a-z0-9-]+$"))
            throw new LabException($"'{Kernel}' is not a Debian kernel release like 6.1.0-56-amd64");
    }

    /// <summary>The canonical description: same text, same scenario.</summary>
    public string Canonical()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"kernel={Kernel};crash={Crash.ToString().ToLowerInvariant()};");
        sb.Append("capture=").AppendJoin('+', Captures.Select(c => c.ToString())).Append(';');
        sb.Append(CultureInfo.InvariantCulture, $"ram={RamMiB};cpus={Cpus};kaslr={Kaslr};la57={La57};crashkernel={CrashKernelMiB};");
        if (ExtraCmdline.Length > 0)
            sb.Append("cmdline=").Append(ExtraCmdline).Append(';');
        if (ExtraModules.Count > 0)
            sb.Append("modules=").AppendJoin('+', ExtraModules.Select(m => Path.GetFileName(m.Path) + (m.Options.Length > 0 ? ":" + m.Options : ""))).Append(';');
        if (ExtraFiles.Count > 0)
            sb.Append("files=").AppendJoin('+', ExtraFiles.Select(f => f.GuestName)).Append(';');
        if (ScriptPath is not null)
            sb.Append("script=").Append(Path.GetFileName(ScriptPath)).Append(';');
        if (CaptureScriptPath is not null)
            sb.Append("capture-script=").Append(Path.GetFileName(CaptureScriptPath)).Append(';');
        if (Boot > 0)
            sb.Append(CultureInfo.InvariantCulture, $"boot={Boot};");
        return sb.ToString();
    }

    /// <summary>A readable cache directory name; the hash covers the scenario and all input fingerprints.</summary>
    public string CacheName(string inputsHash)
    {
        var crash = Crash.ToString().ToLowerInvariant();
        var caps = string.Join('+', Captures.Select(c => c.Id));
        if (caps.Length > 60)
            caps = caps[..60];
        var shape = $"{RamMiB}m{Cpus}c{(Kaslr ? "" : "-nokaslr")}{(La57 ? "-la57" : "")}{(Boot > 0 ? $"-boot{Boot}" : "")}";
        return $"{Kernel}_{crash}_{caps}_{shape}_{inputsHash[..10]}";
    }
}
