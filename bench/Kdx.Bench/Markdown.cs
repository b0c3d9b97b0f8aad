// Small helpers for the markdown RESULTS.md sections.
using System.Text;

namespace Kdx.Bench;

public static class Markdown
{
    public static string Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", headers).AppendLine(" |");
        sb.Append('|').AppendJoin("|", headers.Select(_ => "---")).AppendLine("|");
        foreach (var row in rows)
        {
            if (row.Count != headers.Count)
                throw new ArgumentException($"a row has {row.Count} cells for {headers.Count} headers");
            sb.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))).AppendLine(" |");
        }
        return sb.ToString();
    }

    /// <summary>"2.31x" — how many times faster kdx is (above 1) or slower (below 1).</summary>
    public static string Ratio(double x) => $"{x:0.00}x";
}
