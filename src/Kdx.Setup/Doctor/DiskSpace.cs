// The seam between the doctor and the filesystems holding a dump target: free space and
// writability come from statvfs/access on a real machine and from a table in fixture roots.
using System.Runtime.InteropServices;

namespace Kdx.Setup.Doctor;

/// <summary>What the doctor needs to know about the filesystem under a directory.</summary>
public sealed record DiskSpace(long FreeBytes, long TotalBytes, bool ReadOnly, bool Writable);

public interface IDiskSpaceProbe
{
    /// <summary>Space and writability of the filesystem holding <paramref name="path"/> (a machine path, links resolved), or null if unknown.</summary>
    DiskSpace? Probe(RootedFileSystem fs, string path);
}

/// <summary>statvfs(3) and access(2) on the host path.</summary>
public sealed partial class StatvfsDiskSpaceProbe : IDiskSpaceProbe
{
    private const int WriteOk = 2;         // W_OK
    private const ulong ReadOnlyFlag = 1;  // ST_RDONLY

    public DiskSpace? Probe(RootedFileSystem fs, string path)
    {
        var host = fs.HostPath(path);
        if (!Directory.Exists(host))
            return null;
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
            return FromDriveInfo(host);
        Span<ulong> buffer = stackalloc ulong[16]; // struct statvfs is 112 bytes on 64-bit Linux
        try
        {
            unsafe
            {
                fixed (ulong* p = buffer)
                {
                    if (Statvfs(host, p) != 0)
                        return null;
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return FromDriveInfo(host);
        }
        // 64-bit layout: f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, f_fsid, f_flag
        ulong fragment = buffer[1] != 0 ? buffer[1] : buffer[0];
        long free = Saturate(buffer[4], fragment), total = Saturate(buffer[2], fragment);
        bool readOnly = (buffer[9] & ReadOnlyFlag) != 0;
        return new DiskSpace(free, total, readOnly, !readOnly && CanWrite(host));
    }

    private static bool CanWrite(string host)
    {
        try
        {
            return Access(host, WriteOk) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return true;
        }
    }

    /// <summary>Without libc's statvfs: space from DriveInfo; read-only state unknown, taken as writable.</summary>
    private static DiskSpace? FromDriveInfo(string host)
    {
        try
        {
            var drive = new DriveInfo(host);
            return new DiskSpace(drive.AvailableFreeSpace, drive.TotalSize, false, true);
        }
        catch (Exception e) when (RootedFileSystem.IsAccessProblem(e))
        {
            return null;
        }
    }

    private static long Saturate(ulong blocks, ulong size) =>
        size != 0 && blocks > (ulong)long.MaxValue / size ? long.MaxValue : (long)(blocks * size);

    [LibraryImport("libc", EntryPoint = "statvfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statvfs(string path, ulong* buffer);

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Access(string path, int mode);
}

/// <summary>
/// Disk space of a fixture root, from <c>&lt;root&gt;/.kdx-doctor/disk-space</c>: one line per mount,
/// <c>&lt;machine path&gt; free=&lt;size&gt; [total=&lt;size&gt;] [ro] [notwritable]</c> (sizes as in crashkernel=,
/// "20G"). The longest path that is a prefix of the asked path answers; nothing answers for paths
/// outside every line. Only used when the root is not this machine.
/// </summary>
public sealed class FixtureDiskSpaceProbe(IReadOnlyList<(string Path, DiskSpace Space)> mounts) : IDiskSpaceProbe
{
    public const string TablePath = "/.kdx-doctor/disk-space";

    public static FixtureDiskSpaceProbe? Load(RootedFileSystem fs)
    {
        var text = fs.ReadText(TablePath);
        return text is null ? null : new FixtureDiskSpaceProbe(Parse(text));
    }

    public static IReadOnlyList<(string Path, DiskSpace Space)> Parse(string text)
    {
        var mounts = new List<(string, DiskSpace)>();
        foreach (var raw in text.Split('\n'))
        {
            var fields = raw.Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0].StartsWith('#') || !fields[0].StartsWith('/'))
                continue;
            long free = 0, total = 0;
            bool readOnly = false, writable = true;
            foreach (var f in fields.Skip(1))
            {
                if (f.StartsWith("free=", StringComparison.Ordinal))
                    free = SizeText.ParseBytes(f.AsSpan(5)) ?? 0;
                else if (f.StartsWith("total=", StringComparison.Ordinal))
                    total = SizeText.ParseBytes(f.AsSpan(6)) ?? 0;
                else if (f == "ro")
                    readOnly = true;
                else if (f == "notwritable")
                    writable = false;
            }
            mounts.Add((fields[0].TrimEnd('/'), new DiskSpace(free, Math.Max(total, free), readOnly, writable && !readOnly)));
        }
        return mounts;
    }

    public DiskSpace? Probe(RootedFileSystem fs, string path)
    {
        if (!fs.DirectoryExists(path))
            return null;
        (string Path, DiskSpace Space)? best = null;
        foreach (var m in mounts)
        {
            bool covers = m.Path.Length == 0 || path == m.Path || path.StartsWith(m.Path + "/", StringComparison.Ordinal);
            if (covers && (best is null || m.Path.Length > best.Value.Path.Length))
                best = m;
        }
        return best?.Space;
    }
}
