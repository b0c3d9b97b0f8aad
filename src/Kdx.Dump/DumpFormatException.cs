// The one exception type for bad, truncated or hostile dump input: it names the file and the
// offset so the CLI can print a single line and exit 2.
namespace Kdx.Dump;

public class DumpFormatException : Exception
{
    public DumpFormatException(string file, long offset, string problem, Exception? inner = null)
        : base($"{file}: offset 0x{offset:x}: {problem}", inner)
    {
        File = file;
        Offset = offset;
        Problem = problem;
    }

    public string File { get; }
    public long Offset { get; }
    public string Problem { get; }
}
