// The lab cache's pruning, on a cache folder of hand-made scenario entries.
using System.Text.Json;

namespace Kdx.Lab.Tests;

public class LabCacheTests
{
    private static readonly DateTime Now = new(2026, 11, 23, 12, 0, 0, DateTimeKind.Utc);

    private static string Entry(string root, string name, string scenario, DateTime built, DateTime? used)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        var meta = Path.Combine(dir, LabResult.MetadataFile);
        File.WriteAllText(meta, JsonSerializer.Serialize(new Dictionary<string, string> { ["scenario"] = scenario }));
        File.WriteAllBytes(Path.Combine(dir, "dump.vmcore"), new byte[4096]);
        File.SetLastWriteTimeUtc(meta, built);
        if (used is { } u)
        {
            var stamp = Path.Combine(dir, LabCache.LastUsedFile);
            File.WriteAllBytes(stamp, []);
            File.SetLastWriteTimeUtc(stamp, u);
        }
        return dir;
    }

    [Fact]
    public void Prune_RemovesSupersededHostFileBuildsAndIdleScenarios_Only()
    {
        var root = Directory.CreateTempSubdirectory("kdx-lab-cache-").FullName;
        try
        {
            const string withKdx = "kernel=k;crash=sysrq;capture=kdump-kdx:-l,-d,31;ram=1024;files=kdx;";
            const string plain = "kernel=k;crash=oops;capture=qemu-kdump-zlib;ram=1024;";
            var oldKdx = Entry(root, "kdx_a", withKdx, Now.AddHours(-5), Now.AddHours(-1));
            var newKdx = Entry(root, "kdx_b", withKdx, Now.AddHours(-2), Now.AddHours(-2));
            var plainOld = Entry(root, "plain_a", plain, Now.AddDays(-30), Now.AddHours(-3)); // old but used today: kept
            var plainOther = Entry(root, "plain_b", plain, Now.AddDays(-3), null);              // same scenario, no host files: kept
            var idle = Entry(root, "idle", "kernel=k;crash=hung;capture=qemu-elf;", Now.AddDays(-40), Now.AddDays(-20));
            Directory.CreateDirectory(Path.Combine(root, ".tmp-building-123"));                  // a build in progress

            var planned = LabCache.Prune(root, TimeSpan.FromDays(14), Now, dryRun: true);
            Assert.Equal(new[] { oldKdx, idle }.Order(StringComparer.Ordinal), planned.Select(r => r.Directory).Order(StringComparer.Ordinal));
            Assert.All(planned, r => Assert.True(r.Bytes >= 4096));
            Assert.True(Directory.Exists(oldKdx) && Directory.Exists(idle)); // a dry run removes nothing

            LabCache.Prune(root, TimeSpan.FromDays(14), Now, dryRun: false);
            Assert.False(Directory.Exists(oldKdx));
            Assert.False(Directory.Exists(idle));
            Assert.True(Directory.Exists(newKdx) && Directory.Exists(plainOld) && Directory.Exists(plainOther));
            Assert.True(Directory.Exists(Path.Combine(root, ".tmp-building-123")));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public void MarkUsed_TouchesTheStamp()
    {
        var dir = Directory.CreateTempSubdirectory("kdx-lab-used-").FullName;
        try
        {
            LabCache.MarkUsed(dir);
            var stamp = Path.Combine(dir, LabCache.LastUsedFile);
            File.SetLastWriteTimeUtc(stamp, Now.AddDays(-9));
            LabCache.MarkUsed(dir);
            Assert.True(DateTime.UtcNow - File.GetLastWriteTimeUtc(stamp) < TimeSpan.FromMinutes(5));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
