// The running kernel's command line (/proc/cmdline) split the way the kernel splits it:
// whitespace-separated, double quotes group, "--" hands the rest to init.
namespace Kdx.Setup.Doctor;

public sealed class KernelCommandLine
{
    private KernelCommandLine(string text, List<(string Name, string? Value)> parameters)
    {
        Text = text;
        Parameters = parameters;
    }

    public string Text { get; }

    /// <summary>Every kernel parameter in order; the value is null for bare flags ("quiet").</summary>
    public IReadOnlyList<(string Name, string? Value)> Parameters { get; }

    /// <summary>All values given to a parameter, in command-line order.</summary>
    public IEnumerable<string> ValuesOf(string name) =>
        Parameters.Where(p => p.Name == name && p.Value is not null).Select(p => p.Value!);

    public bool Has(string name) => Parameters.Any(p => p.Name == name);

    public static KernelCommandLine Parse(string text)
    {
        var parameters = new List<(string, string?)>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
                i++;
            if (i >= text.Length)
                break;
            var word = new System.Text.StringBuilder();
            bool quoted = false;
            for (; i < text.Length && (quoted || !char.IsWhiteSpace(text[i])); i++)
            {
                if (text[i] == '"')
                    quoted = !quoted;
                else
                    word.Append(text[i]);
            }
            var w = word.ToString();
            if (w == "--")
                break;
            int eq = w.IndexOf('=');
            parameters.Add(eq < 0 ? (w, null) : (w[..eq], w[(eq + 1)..]));
        }
        return new KernelCommandLine(text.Trim(), parameters);
    }
}
