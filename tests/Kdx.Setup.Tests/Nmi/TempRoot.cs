// A scratch directory standing for / in tests; deleted on dispose.
namespace Kdx.Setup.Tests.Nmi;

public sealed class TempRoot : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("kdx-nmi-").FullName;

    public string File(string relative, string content)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return full;
    }

    public string Full(string relative) => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
