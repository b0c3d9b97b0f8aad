// target.space: the dump filesystem has room for a dump of this machine at the configured dump
// level (estimate in DumpSizeEstimate, margin for memory use growing before the crash).
namespace Kdx.Setup.Doctor.Checks;

public sealed class DumpSpaceCheck : IDoctorCheck
{
    /// <summary>Free space below this many estimates warns: memory use at crash time is not today's.</summary>
    public const double Margin = 2.0;

    public string Id => "target.space";

    public CheckResult Run(DoctorContext context)
    {
        var config = context.Config;
        if (config is null)
            return CheckResult.Skip(Id, "no kdump configuration (see kdump.config)");
        if (config.Target.IsRemote || config.Target.Kind == DumpTargetKind.Raw)
            return CheckResult.Skip(Id, $"{config.Target.Kind} target: free space is not checked from here");
        if (context.Target?.Path is not { } dir || !context.Fs.DirectoryExists(dir))
            return CheckResult.Skip(Id, "dump directory not available (see target.location)");
        if (context.Machine.MemInfo is not { MemTotal: > 0 } mem)
            return CheckResult.Warn(Id, "cannot read /proc/meminfo: dump size unknown");
        if (context.DiskSpace.Probe(context.Fs, dir) is not { } space)
            return CheckResult.Warn(Id, $"cannot examine the filesystem of {dir}");

        var estimate = DumpSizeEstimate.For(mem, config.Collector);
        var facts = $"{SizeText.Human(space.FreeBytes)} free in {dir}, a dump needs about {SizeText.Human(estimate.FileBytes)} ({estimate.Basis})";
        if (space.FreeBytes < estimate.FileBytes)
            return CheckResult.Fail(Id, facts + ": the dump would be cut short", SpaceFix(config));
        if (space.FreeBytes < estimate.FileBytes * Margin)
            return CheckResult.Warn(Id, facts + $": less than {Margin:0}x headroom", SpaceFix(config));
        return CheckResult.Ok(Id, facts);
    }

    private static Fix SpaceFix(KdumpConfig config)
    {
        var steps = new List<FixStep>();
        if (config.Collector.IsMakedumpfile && config.Collector.DumpLevel != CoreCollector.MaxDumpLevel)
            steps.Add(DumpLevelStep(config));
        if (!config.Collector.Compressed && config.Collector.IsMakedumpfile)
            steps.Add(new RunCommand("# compress: add -l (lzo), -z (zstd) or -c (zlib) to the makedumpfile arguments"));
        steps.Add(new SetConfigLine(config.File, DumpTargetCheck.PathLine(config, "<directory on a bigger filesystem>")));
        steps.Add(new RunCommand(DumpTargetCheck.RestartCommand(config)));
        return new Fix("free space, filter more pages, or move the target", steps);
    }

    private static SetConfigLine DumpLevelStep(KdumpConfig config)
    {
        var c = config.Collector;
        var args = System.Text.RegularExpressions.Regex.Replace(c.CommandLine, @"-d\s*[0-9,]+", "-d 31");
        if (args == c.CommandLine)
            args += " -d 31";
        return config.Tooling == KdumpTooling.Kdumpctl
            ? new SetConfigLine(config.File, $"core_collector {args}", config.CollectorSetting?.Line)
            : new SetConfigLine(config.File, $"MAKEDUMP_ARGS=\"{args["makedumpfile ".Length..]}\"", config.CollectorSetting?.Line);
    }
}
