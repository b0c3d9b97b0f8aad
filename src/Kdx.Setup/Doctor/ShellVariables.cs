// Shell-style KEY=value files (/etc/default/kdump-tools, /etc/sysconfig/kdump, os-release):
// read without running a shell, keeping line numbers, quoting and problems for the report.
using System.Text;

namespace Kdx.Setup.Doctor;

public sealed class ShellVariables
{
    private ShellVariables(Dictionary<string, string> values, Dictionary<string, int> lines, List<ConfigProblem> problems)
    {
        Values = values;
        Lines = lines;
        Problems = problems;
    }

    /// <summary>Each variable's last assignment, unquoted.</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>The 1-based line of each variable's last assignment.</summary>
    public IReadOnlyDictionary<string, int> Lines { get; }

    public IReadOnlyList<ConfigProblem> Problems { get; }

    public string? Get(string name) => Values.TryGetValue(name, out var v) ? v : null;

    public static ShellVariables Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var problems = new List<ConfigProblem>();
        var all = text.Split('\n');
        for (int i = 0; i < all.Length; i++)
        {
            var line = all[i].TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            if (line.StartsWith("export ", StringComparison.Ordinal))
                line = line[7..].TrimStart();
            int eq = line.IndexOf('=');
            if (eq <= 0 || !IsName(line.AsSpan(0, eq)))
            {
                problems.Add(new ConfigProblem(i + 1, $"not a VAR=value assignment: {Clip(line)}"));
                continue;
            }
            var name = line[..eq];
            if (!TryUnquote(line.AsSpan(eq + 1), out var value))
                problems.Add(new ConfigProblem(i + 1, $"unbalanced quotes in {name}"));
            values[name] = value;
            lines[name] = i + 1;
        }
        return new ShellVariables(values, lines, problems);
    }

    /// <summary>True for the shell's "yes": 1, true, yes (any case).</summary>
    public static bool IsTrue(string? value) =>
        value is not null && (value.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "y" or "on");

    private static bool IsName(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || char.IsAsciiDigit(s[0]))
            return false;
        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
                return false;
        }
        return true;
    }

    /// <summary>Removes shell quoting from one word ("a b", 'a b', a\ b) and an unquoted trailing comment.</summary>
    private static bool TryUnquote(ReadOnlySpan<char> s, out string value)
    {
        var sb = new StringBuilder();
        char quote = '\0';
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (quote == '\0')
            {
                if (c is '"' or '\'')
                    quote = c;
                else if (c == '\\' && i + 1 < s.Length)
                    sb.Append(s[++i]);
                else if (c == '#' && (i == 0 || char.IsWhiteSpace(s[i - 1])))
                    break;
                else if (char.IsWhiteSpace(c))
                    break;
                else
                    sb.Append(c);
            }
            else if (c == quote)
                quote = '\0';
            else if (quote == '"' && c == '\\' && i + 1 < s.Length && s[i + 1] is '"' or '\\' or '$' or '`')
                sb.Append(s[++i]);
            else
                sb.Append(c);
        }
        value = sb.ToString();
        return quote == '\0';
    }

    internal static string Clip(string s) => s.Length <= 60 ? s : s[..57] + "...";
}

/// <summary>A line of a configuration file the doctor could not make sense of.</summary>
public sealed record ConfigProblem(int Line, string Message);
