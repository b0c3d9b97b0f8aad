// A read-only view of a machine's /proc, /sys and /etc under a root directory ("/" for this machine):
// every path the doctor reads goes through here, so fixtures and real systems look the same.
namespace Kdx.Setup.Doctor;

public sealed class RootedFileSystem
{
    /// <summary>Largest text file read; /proc and /etc files the doctor reads are far smaller.</summary>
    public const int MaxTextBytes = 1 << 20;

    private const int MaxSymlinkHops = 40;

    public RootedFileSystem(string root)
    {
        var full = Path.GetFullPath(root);
        Root = full.Length > 1 ? full.TrimEnd('/') : full;
    }

    /// <summary>The directory that stands for "/".</summary>
    public string Root { get; }

    /// <summary>True when the view is this machine itself, not a copy or fixture.</summary>
    public bool IsHostRoot => Root == "/";

    /// <summary>Where a machine path (absolute, "/etc/kdump.conf") lives on this host, without following links.</summary>
    public string HostPath(string path)
    {
        var normal = Normalize(path);
        return IsHostRoot ? normal : normal == "/" ? Root : Root + normal;
    }

    /// <summary>
    /// Follows symbolic links component by component, keeping absolute link targets inside the root
    /// (a fixture's "/var/crash -> /data/crash" must not escape to the host's /data).
    /// </summary>
    public string Resolve(string path)
    {
        var pending = new Stack<string>(Normalize(path).Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = new List<string>();
        int hops = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (current.Count > 0)
                    current.RemoveAt(current.Count - 1);
                continue;
            }
            current.Add(part);
            var target = LinkTarget("/" + string.Join('/', current));
            if (target is null || ++hops > MaxSymlinkHops)
                continue;
            current.RemoveAt(current.Count - 1);
            if (target.StartsWith('/'))
                current.Clear();
            foreach (var p in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                pending.Push(p);
        }
        return "/" + string.Join('/', current);
    }

    /// <summary>The target of a symbolic link, or null when the path is not one.</summary>
    public string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(HostPath(path)).LinkTarget;
        }
        catch (Exception e) when (IsAccessProblem(e))
        {
            return null;
        }
    }

    /// <summary>True when the entry itself exists (a dangling symlink counts: systemd's wants links point outside fixtures).</summary>
    public bool EntryExists(string path)
    {
        var host = HostPath(path);
        return LinkTarget(path) is not null || File.Exists(host) || Directory.Exists(host);
    }

    public bool FileExists(string path) => File.Exists(HostPath(Resolve(path)));

    public bool DirectoryExists(string path) => Directory.Exists(HostPath(Resolve(path)));

    public long? FileSize(string path)
    {
        try
        {
            var info = new FileInfo(HostPath(Resolve(path)));
            return info.Exists ? info.Length : null;
        }
        catch (Exception e) when (IsAccessProblem(e))
        {
            return null;
        }
    }

    public DateTime? LastWriteUtc(string path)
    {
        var host = HostPath(Resolve(path));
        try
        {
            return File.Exists(host) || Directory.Exists(host) ? File.GetLastWriteTimeUtc(host) : null;
        }
        catch (Exception e) when (IsAccessProblem(e))
        {
            return null;
        }
    }

    /// <summary>A text file's contents (at most <see cref="MaxTextBytes"/>), or null when missing or unreadable.</summary>
    public string? ReadText(string path)
    {
        var bytes = ReadPrefix(path, MaxTextBytes);
        return bytes is null ? null : System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <summary>A file's first bytes (reading /proc and /sys files whose reported size is 0), or null.</summary>
    public byte[]? ReadPrefix(string path, int maxBytes)
    {
        try
        {
            using var stream = new FileStream(HostPath(Resolve(path)), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            var buffer = new byte[Math.Min(maxBytes, 64 * 1024)];
            int total = 0;
            while (total < maxBytes)
            {
                if (total == buffer.Length)
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes));
                int n = stream.Read(buffer, total, buffer.Length - total);
                if (n <= 0)
                    break;
                total += n;
            }
            return buffer.AsSpan(0, total).ToArray();
        }
        catch (Exception e) when (IsAccessProblem(e))
        {
            return null;
        }
    }

    /// <summary>The first line of a file, trimmed, or null.</summary>
    public string? ReadLine(string path)
    {
        var text = ReadText(path);
        if (text is null)
            return null;
        int end = text.IndexOfAny(['\n', '\r']);
        return (end < 0 ? text : text[..end]).Trim();
    }

    /// <summary>A file holding one integer (sysfs and sysctl style), or null when missing or not a number.</summary>
    public long? ReadInteger(string path)
    {
        var line = ReadLine(path);
        if (line is null)
            return null;
        int space = line.IndexOfAny([' ', '\t']);
        var first = space < 0 ? line : line[..space];
        return long.TryParse(first, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    /// <summary>Names of the entries of a directory (sorted, ordinal), empty when missing.</summary>
    public IReadOnlyList<string> List(string directory)
    {
        try
        {
            var host = HostPath(Resolve(directory));
            if (!Directory.Exists(host))
                return [];
            var names = Directory.EnumerateFileSystemEntries(host).Select(Path.GetFileName).OfType<string>().ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
        catch (Exception e) when (IsAccessProblem(e))
        {
            return [];
        }
    }

    /// <summary>Joins a machine path and a relative one ("/var/crash" + "a/b").</summary>
    public static string Combine(string directory, string relative) =>
        Normalize(directory.TrimEnd('/') + "/" + relative.TrimStart('/'));

    private static string Normalize(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return "/" + string.Join('/', parts);
    }

    internal static bool IsAccessProblem(Exception e) =>
        e is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException;
}
