// target.location: the configured dump target exists and can be written (local directory, a
// filesystem named by device, a raw device), or is remote and left to the tooling's own test.
namespace Kdx.Setup.Doctor.Checks;

public sealed class DumpTargetCheck : IDoctorCheck
{
    public string Id => "target.location";

    public CheckResult Run(DoctorContext context)
    {
        var config = context.Config;
        if (config is null)
            return CheckResult.Skip(Id, "no kdump configuration (see kdump.config)");
        var target = config.Target;
        switch (target.Kind)
        {
            case DumpTargetKind.Nfs or DumpTargetKind.Ssh:
                var test = config.Tooling == KdumpTooling.Kdumpctl ? "kdumpctl propagate / kdumpctl test" : "kdump-config propagate / kdump-config test";
                return CheckResult.Ok(Id, $"remote target {target}: not verified from here ({test} do)");
            case DumpTargetKind.Raw:
                return context.Fs.EntryExists(target.Device!)
                    ? CheckResult.Ok(Id, $"raw device {target.Device} exists")
                    : CheckResult.Fail(Id, $"raw device {target.Device} does not exist",
                        new Fix($"point 'raw' at an existing device in {config.File}", new SetConfigLine(config.File, "raw /dev/disk/by-id/<device>")));
        }

        var dir = context.Target!;
        if (dir.DeviceMissing)
            return CheckResult.Fail(Id, $"dump target {dir.Description}: {dir.Problem}",
                new Fix($"name an existing filesystem in {config.File} (blkid lists them)", new RunCommand("blkid")));
        if (dir.Path is null)
            return CheckResult.Warn(Id, $"dump target {dir.Description}: {dir.Problem}");
        if (!context.Fs.DirectoryExists(dir.Path))
            return CheckResult.Fail(Id, $"dump directory {dir.Path} does not exist",
                new Fix("create the dump directory", new RunCommand($"mkdir -p {dir.Path}"), new RunCommand(RestartCommand(config))));
        var space = context.DiskSpace.Probe(context.Fs, dir.Path);
        if (space is null)
            return CheckResult.Warn(Id, $"dump directory {dir.Path} exists but its filesystem cannot be examined");
        if (space.ReadOnly)
            return CheckResult.Fail(Id, $"dump directory {dir.Path} is on a read-only filesystem",
                new Fix("put dumps on a writable filesystem", new SetConfigLine(config.File, PathLine(config, "/var/crash"))));
        if (!space.Writable)
            return CheckResult.Fail(Id, $"dump directory {dir.Path} is not writable",
                new Fix("make the dump directory writable by root", new RunCommand($"chmod u+rwx {dir.Path}")));
        var where = target.Kind == DumpTargetKind.LocalFilesystem ? $" ({target.FsType} {target.Device})" : "";
        return CheckResult.Ok(Id, $"dumps go to {dir.Path}{where}, writable");
    }

    internal static string RestartCommand(KdumpConfig config) =>
        config.Tooling == KdumpTooling.Kdumpctl ? "kdumpctl restart" : "systemctl restart kdump-tools";

    internal static string PathLine(KdumpConfig config, string path) =>
        config.Tooling == KdumpTooling.Kdumpctl ? $"path {path}" : $"KDUMP_COREDIR=\"{path}\"";
}
