// Differential test: the C# list parser against results recorded from the real kernel (nmimgr on Linux 6.1 under QEMU).
using System.Text;
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

public class NmiKernelVectorTests
{
    // Each line: input in Python's unicode_escape form, a tab, then "ok <what sysfs read back>" or "rej"
    // (the write failed with EINVAL). Recorded by writing every input to
    // /sys/module/nmimgr/parameters/events_ignore in a 6.1.0-56-amd64 guest.
    private static IEnumerable<(string Input, string Result)> Vectors()
    {
        var path = Path.Combine(NmiModuleBuildTests.RepoRoot(), "tests/Kdx.Setup.Tests/Nmi/testdata/bitmap_parselist.linux-6.1.txt");
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith('#') || line.Length == 0)
                continue;
            var tab = line.LastIndexOf('\t');
            yield return (Unescape(line[..tab]), line[(tab + 1)..]);
        }
    }

    private static string Unescape(string s)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\')
            {
                sb.Append(s[i]);
                continue;
            }
            var c = s[++i];
            switch (c)
            {
                case 't': sb.Append('\t'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case '\\': sb.Append('\\'); break;
                case 'x': sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 2), 16)); i += 2; break;
                default: throw new InvalidDataException($"unknown escape \\{c} in {s}");
            }
        }
        return sb.ToString();
    }

    [Fact]
    public void Parser_agrees_with_the_kernel_on_every_recorded_input()
    {
        var vectors = Vectors().ToList();
        Assert.True(vectors.Count > 400, $"only {vectors.Count} vectors");
        Assert.Contains(vectors, v => v.Result == "rej");
        Assert.Contains(vectors, v => v.Result.StartsWith("ok ", StringComparison.Ordinal) && v.Result.Length > 3);
        var disagreements = new List<string>();
        foreach (var (input, result) in vectors)
        {
            var ok = NmiCodeList.TryParse(input, out var set, out var error);
            var mine = ok ? "ok " + set : "rej";
            if (mine != result)
                disagreements.Add($"{input.ReplaceLineEndings("\\n").Replace("\t", "\\t", StringComparison.Ordinal)}: kernel {result}, kdx {mine} {error?.Message}");
        }
        Assert.True(disagreements.Count == 0, string.Join('\n', disagreements));
    }
}
