// Writes a configuration file under a root directory atomically (temp file + rename), refusing any path that could leave the root.
using System.Text;

namespace Kdx.Setup.Nmi;

public sealed class RootContainmentException(string message) : IOException(message);

/// <summary>
/// Places files below a root ("/" on a live system, a scratch directory in tests or for an
/// image). The relative path must stay inside the root: no "..", no absolute part, and no
/// existing directory on the way may be a symbolic link (it could point anywhere). The file
/// itself is replaced by rename(2), so readers see the old or the new content, never a mix,
/// and a symlink in its place is replaced rather than followed.
/// </summary>
public sealed class RootedFileWriter
{
    public string Root { get; }

    public RootedFileWriter(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        if (!Directory.Exists(Root))
            throw new DirectoryNotFoundException($"root directory {Root} does not exist");
    }

    /// <summary>The full path for a root-relative path, after checking it stays inside the root.</summary>
    public string Resolve(string relative)
    {
        ArgumentException.ThrowIfNullOrEmpty(relative);
        if (Path.IsPathRooted(relative))
            throw new RootContainmentException($"{relative}: must be relative to the root");
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
            throw new RootContainmentException($"{relative}: '.' and '..' are not allowed");
        var full = Path.GetFullPath(Path.Combine(Root, relative));
        var rootWithSep = Root.EndsWith('/') ? Root : Root + "/";
        if (!full.StartsWith(rootWithSep, StringComparison.Ordinal))
            throw new RootContainmentException($"{relative}: resolves outside {Root}");
        return full;
    }

    /// <summary>Writes <paramref name="content"/> to root/<paramref name="relative"/>, creating missing directories.</summary>
    public string WriteAtomically(string relative, string content, UnixFileMode mode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)
    {
        var target = Resolve(relative);
        var dir = Path.GetDirectoryName(target)!;
        EnsureDirectoryInsideRoot(dir);

        var temp = Path.Combine(dir, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = mode;
            using (var fs = new FileStream(temp, options))
            {
                var bytes = Encoding.UTF8.GetBytes(content);
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        return target;
    }

    /// <summary>Walks from the root down to <paramref name="dir"/>, refusing symlinks and creating what is missing.</summary>
    private void EnsureDirectoryInsideRoot(string dir)
    {
        var rel = Path.GetRelativePath(Root, dir);
        var current = Root;
        if (rel == ".")
            return;
        foreach (var part in rel.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null)
                throw new RootContainmentException($"{current} is a symbolic link: refusing to write through it");
            if (info.Exists)
                continue;
            if (File.Exists(current))
                throw new IOException($"{current} is a file, not a directory");
            Directory.CreateDirectory(current);
        }
    }
}
