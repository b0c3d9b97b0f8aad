// The report as Markdown (a ticket or chat message): sections as headings, facts as a table,
// blocks fenced; the long sections folded in <details>.
namespace Kdx.Triage.Rendering;

public static class MarkdownReport
{
    public static void Write(TriageReport r, TextWriter o)
    {
        o.WriteLine($"# {Inline(ReportSections.Title(r))}");
        foreach (var s in ReportSections.Of(r))
        {
            o.WriteLine();
            o.WriteLine($"## {Inline(s.Title)}");
            o.WriteLine();
            if (s.Collapsed)
            {
                o.WriteLine($"<details><summary>{System.Net.WebUtility.HtmlEncode(s.Title)}</summary>");
                o.WriteLine();
            }
            if (s.Facts.Count > 0)
            {
                o.WriteLine("| | |");
                o.WriteLine("|---|---|");
                foreach (var f in s.Facts)
                    o.WriteLine($"| {Cell(f.Key)} | {Cell(f.Value)} |");
                o.WriteLine();
            }
            foreach (var item in s.Items)
                o.WriteLine($"- {Inline(item)}");
            if (s.Items.Count > 0)
                o.WriteLine();
            foreach (var b in s.Blocks)
            {
                if (b.Title is { } t)
                    o.WriteLine($"**{Inline(t)}**");
                o.WriteLine("```");
                foreach (var line in b.Lines)
                    o.WriteLine(line.Replace("```", "`\u200b``", StringComparison.Ordinal));
                o.WriteLine("```");
                o.WriteLine();
            }
            if (s.Collapsed)
                o.WriteLine("</details>");
        }
    }

    /// <summary>Text in a table cell: pipes escaped, code-ish values kept literal.</summary>
    private static string Cell(string s) => Inline(s).Replace("|", "\\|", StringComparison.Ordinal);

    /// <summary>Markdown-significant characters escaped so kernel text (underscores, asterisks, brackets) shows as is.</summary>
    private static string Inline(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '#')
                sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }
}
