// The kernel's crashkernel= parameter in all its spellings: "256M", "256M@16M",
// "1G-4G:192M,4G-64G:256M,64G-:512M[@offset]", ",high"/",low" (and ",cma"), and RHEL's "auto".
namespace Kdx.Setup.Doctor;

public enum CrashKernelZone
{
    Default,
    High,
    Low,
    Cma,
}

/// <summary>One "start-end:size" entry of a range list; <see cref="End"/> is null for "start-".</summary>
public sealed record CrashKernelRange(long Start, long? End, long Size);

public sealed record CrashKernelArgument(
    string Text,
    bool IsAuto,
    long? FixedSize,
    IReadOnlyList<CrashKernelRange> Ranges,
    long? Offset,
    CrashKernelZone Zone)
{
    /// <summary>Parses the value after "crashkernel="; returns null and a reason when it is not valid.</summary>
    public static CrashKernelArgument? TryParse(string text, out string? error)
    {
        error = null;
        var value = text.Trim();
        if (value.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return new CrashKernelArgument(text, true, null, [], null, CrashKernelZone.Default);

        var zone = CrashKernelZone.Default;
        int lastComma = value.LastIndexOf(',');
        if (lastComma >= 0 && value.IndexOf(':', lastComma) < 0)
        {
            var suffix = value[(lastComma + 1)..];
            zone = suffix.ToLowerInvariant() switch
            {
                "high" => CrashKernelZone.High,
                "low" => CrashKernelZone.Low,
                "cma" => CrashKernelZone.Cma,
                _ => (CrashKernelZone)(-1),
            };
            if (zone < 0)
            {
                error = $"unknown suffix ',{suffix}'";
                return null;
            }
            value = value[..lastComma];
        }

        long? offset = null;
        int at = value.LastIndexOf('@');
        if (at >= 0)
        {
            offset = SizeText.ParseBytes(value.AsSpan(at + 1));
            if (offset is null)
            {
                error = $"bad offset '{value[(at + 1)..]}'";
                return null;
            }
            value = value[..at];
        }

        if (!value.Contains(':'))
        {
            var size = SizeText.ParseBytes(value);
            if (size is null)
            {
                error = $"bad size '{value}'";
                return null;
            }
            return new CrashKernelArgument(text, false, size, [], offset, zone);
        }

        var ranges = new List<CrashKernelRange>();
        foreach (var entry in value.Split(','))
        {
            int colon = entry.IndexOf(':');
            int dash = colon < 0 ? -1 : entry.IndexOf('-', 0, colon);
            if (colon < 0 || dash < 0)
            {
                error = $"range '{entry}' is not start-[end]:size";
                return null;
            }
            var start = SizeText.ParseBytes(entry.AsSpan(0, dash));
            var endText = entry.AsSpan(dash + 1, colon - dash - 1).Trim();
            long? end = endText.IsEmpty ? null : SizeText.ParseBytes(endText);
            var size = SizeText.ParseBytes(entry.AsSpan(colon + 1));
            if (start is null || size is null || (!endText.IsEmpty && end is null))
            {
                error = $"range '{entry}' has a bad number";
                return null;
            }
            if (end is not null && end <= start)
            {
                error = $"range '{entry}' ends before it starts";
                return null;
            }
            ranges.Add(new CrashKernelRange(start.Value, end, size.Value));
        }
        return new CrashKernelArgument(text, false, null, ranges, offset, zone);
    }

    /// <summary>
    /// The size the kernel reserves on a machine with <paramref name="systemRam"/> bytes: the fixed size,
    /// or the range with start &lt;= RAM &lt; end (0 when no range matches), or null for "auto".
    /// </summary>
    public long? SizeFor(long systemRam)
    {
        if (IsAuto)
            return null;
        if (FixedSize is { } fixedSize)
            return fixedSize;
        foreach (var r in Ranges)
        {
            if (systemRam >= r.Start && (r.End is null || systemRam < r.End))
                return r.Size;
        }
        return 0;
    }

    public override string ToString() => "crashkernel=" + Text;
}

/// <summary>All crashkernel= parameters of a command line: the kernel uses the last plain one and the last ",low".</summary>
public sealed record CrashKernelSetting(CrashKernelArgument? Main, CrashKernelArgument? Low, IReadOnlyList<string> Errors)
{
    public static CrashKernelSetting From(KernelCommandLine cmdline)
    {
        CrashKernelArgument? main = null, low = null;
        var errors = new List<string>();
        foreach (var value in cmdline.ValuesOf("crashkernel"))
        {
            var arg = CrashKernelArgument.TryParse(value, out var error);
            if (arg is null)
                errors.Add($"crashkernel={value}: {error}");
            else if (arg.Zone == CrashKernelZone.Low)
                low = arg;
            else
                main = arg;
        }
        return new CrashKernelSetting(main, low, errors);
    }
}
