// Where the lab keeps things: the cache (KDX_LAB_CACHE or ~/.cache/kdx-lab) and the repo's own
// lab inputs (guest init script, crashtest module source).
namespace Kdx.Lab;

public static class LabPaths
{
    public static string Cache
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("KDX_LAB_CACHE");
            if (!string.IsNullOrEmpty(env))
                return Path.GetFullPath(env);
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".cache", "kdx-lab");
        }
    }

    public static string Scenarios => Path.Combine(Cache, "scenarios");
    public static string Kernels => Path.Combine(Cache, "kernels");
    public static string Builds => Path.Combine(Cache, "build");
    public static string Locks => Path.Combine(Cache, "locks");

    /// <summary>The repository root: the nearest folder above this assembly (or the cwd) holding kdx.slnx.</summary>
    public static string Repo
    {
        get
        {
            foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            {
                for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                    if (File.Exists(Path.Combine(d.FullName, "kdx.slnx")))
                        return d.FullName;
            }
            throw new LabException("cannot find the kdx repository (kdx.slnx) above " + AppContext.BaseDirectory);
        }
    }

    public static string GuestDir => Path.Combine(Repo, "lab", "guest");
    public static string CrashTestSource => Path.Combine(Repo, "kernel", "crashtest");
}

/// <summary>A cross-process lock on a file, so parallel test processes never build the same thing twice.</summary>
public sealed class FileLock : IDisposable
{
    private readonly FileStream _stream;

    private FileLock(FileStream s) => _stream = s;

    public static FileLock Acquire(string name, TimeSpan timeout)
    {
        Directory.CreateDirectory(LabPaths.Locks);
        var path = Path.Combine(LabPaths.Locks, name + ".lock");
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(500);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
