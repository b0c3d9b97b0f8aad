// `kdx struct DUMP TYPE [ADDR]`: a kernel struct's layout from the dump's own BTF (offsets,
// types, size), or the instance at ADDR decoded member by member, like crash's struct -o.
using System.CommandLine;
using System.Globalization;
using Kdx.Kernel.Objects;

namespace Kdx.Cli.Commands;

public sealed class StructCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = new Argument<string>("DUMP") { Description = "The dump file." };
        var typeArg = new Argument<string>("TYPE") { Description = "A struct or union name (e.g. task_struct)." };
        var addrArg = new Argument<string?>("ADDR") { Description = "Kernel address (hex) of an instance to decode.", Arity = ArgumentArity.ZeroOrOne };
        var json = KernelDump.JsonOption();
        var command = new Command("struct", "Show a kernel struct's layout, or decode one in the dump, from BTF (no debuginfo).") { dumpArg, typeArg, addrArg, json };
        command.SetAction(parse =>
        {
            var (dump, kernel) = KernelDump.Open([parse.GetRequiredValue(dumpArg)], "types");
            using var _ = dump;
            var btf = kernel.Btf ?? throw new UsageException($"struct: {kernel.BtfProblem}");
            ulong? address = null;
            if (parse.GetValue(addrArg) is { } text)
            {
                var digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
                if (!ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var a))
                    throw new UsageException($"struct: '{text}' is not a hex address");
                address = a;
            }
            (string Title, ulong Size, IReadOnlyList<StructMember> Members) view;
            try
            {
                view = new StructView(btf, kernel.Memory).Describe(parse.GetRequiredValue(typeArg), address);
            }
            catch (KeyNotFoundException e)
            {
                throw new UsageException($"struct: {e.Message}");
            }
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                KernelDump.WriteJson(o, j =>
                {
                    j.WriteStartObject();
                    j.WriteString("type", view.Title);
                    j.WriteNumber("size", view.Size);
                    if (address is { } a)
                        j.WriteString("address", $"0x{a:x}");
                    j.WriteStartArray("members");
                    foreach (var m in view.Members)
                    {
                        j.WriteStartObject();
                        j.WriteString("name", m.Name);
                        j.WriteString("type", m.TypeName);
                        j.WriteNumber("offset", m.BitOffset / 8);
                        if (m.BitfieldSize != 0)
                        {
                            j.WriteNumber("bit_offset", m.BitOffset % 8);
                            j.WriteNumber("bits", m.BitfieldSize);
                        }
                        j.WriteNumber("size", m.Size);
                        if (m.Value is { } v)
                            j.WriteString("value", v);
                        j.WriteEndObject();
                    }
                    j.WriteEndArray();
                    j.WriteEndObject();
                });
                return ExitCodes.Ok;
            }
            o.WriteLine(address is { } at ? $"{view.Title} 0x{at:x} {{" : $"{view.Title} {{");
            foreach (var m in view.Members)
            {
                var bits = m.BitfieldSize != 0 ? $" : {m.BitfieldSize}" : "";
                var value = m.Value is { } v ? $" = {v}" : "";
                // C declarator order: "char comm[16]", "struct list_head *next".
                var array = m.TypeName.IndexOf(" [", StringComparison.Ordinal);
                var (type, dims) = array < 0 ? (m.TypeName, "") : (m.TypeName[..array], m.TypeName[(array + 1)..]);
                var gap = type.EndsWith('*') ? "" : " ";
                o.WriteLine($"  [{m.BitOffset / 8,5}] {type}{gap}{m.Name}{dims}{bits};{value}");
            }
            o.WriteLine("}");
            o.WriteLine($"SIZE: {view.Size}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
