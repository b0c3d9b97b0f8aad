// Plain-text column tables for command output.
namespace Kdx.Cli.Commands;

internal static class TextTable
{
    public static void Write(TextWriter o, IReadOnlyList<string> header, IReadOnlyList<string[]> rows, IReadOnlyCollection<int>? rightAligned = null)
    {
        var widths = header.Select(h => h.Length).ToArray();
        foreach (var row in rows)
            for (var i = 0; i < widths.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);
        void Line(IReadOnlyList<string> cells)
        {
            var parts = cells.Select((c, i) => rightAligned?.Contains(i) == true ? c.PadLeft(widths[i]) : c.PadRight(widths[i]));
            o.WriteLine(string.Join("  ", parts).TrimEnd());
        }
        Line(header);
        foreach (var row in rows)
            Line(row);
    }
}
