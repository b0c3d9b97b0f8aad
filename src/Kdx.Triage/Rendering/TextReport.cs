// The report as plain text for a terminal: a title, then each section with aligned facts,
// bullets and indented blocks.
namespace Kdx.Triage.Rendering;

public static class TextReport
{
    public static void Write(TriageReport r, TextWriter o)
    {
        o.WriteLine(ReportSections.Title(r));
        foreach (var s in ReportSections.Of(r))
        {
            o.WriteLine();
            o.WriteLine(s.Title.ToUpperInvariant());
            var width = s.Facts.Count == 0 ? 0 : s.Facts.Max(f => f.Key.Length);
            foreach (var f in s.Facts)
                o.WriteLine($"  {f.Key.PadRight(width)} : {f.Value}");
            foreach (var item in s.Items)
                o.WriteLine($"  - {item}");
            foreach (var b in s.Blocks)
            {
                if (b.Title is { } t)
                    o.WriteLine($"  {t}:");
                foreach (var line in b.Lines)
                    o.WriteLine($"    {line}");
            }
        }
    }
}
