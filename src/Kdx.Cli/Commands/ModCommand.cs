// `kdx mod DUMP`: the loaded modules in crash's mod columns (MODULE NAME BASE SIZE), with their
// taint letters (O out-of-tree, E unsigned, ...) where crash shows the object file.
using System.CommandLine;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Modules;

namespace Kdx.Cli.Commands;

public sealed class ModCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = KernelDump.DumpArgument();
        var json = KernelDump.JsonOption();
        var vmlinux = KernelDump.VmlinuxOption();
        var command = new Command("mod", "List the dumped kernel's loaded modules, like crash's mod, without debuginfo.") { dumpArg, vmlinux, json };
        command.SetAction(parse =>
        {
            var (dump, kernel) = KernelDump.OpenWithTypes(parse.GetRequiredValue(dumpArg), "the module list", parse.GetValue(vmlinux));
            using var _ = dump;
            var gaps = new List<ReadGap>();
            var modules = KernelModules.Read(kernel, gaps);
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                KernelDump.WriteJson(o, j =>
                {
                    j.WriteStartArray();
                    foreach (var m in modules)
                    {
                        j.WriteStartObject();
                        j.WriteString("module", $"0x{m.Address:x}");
                        j.WriteString("name", m.Name);
                        j.WriteString("base", $"0x{m.Base:x}");
                        j.WriteNumber("size", m.Size);
                        j.WriteString("taints", m.TaintLetters);
                        j.WriteEndObject();
                    }
                    j.WriteEndArray();
                });
                return KernelDump.ReportGaps(parse.InvocationConfiguration.Error, "mod", gaps);
            }
            var width = Math.Max(4, modules.Count == 0 ? 0 : modules.Max(m => m.Name.Length));
            o.WriteLine($"     MODULE       {"NAME".PadRight(width)}        BASE         SIZE  TAINTS");
            foreach (var m in modules)
                o.WriteLine($"{m.Address:x16}  {m.Name.PadRight(width)}  {m.Base:x16}  {m.Size,5}  {(m.TaintLetters.Length == 0 ? "-" : m.TaintLetters)}");
            return KernelDump.ReportGaps(parse.InvocationConfiguration.Error, "mod", gaps);
        });
        return command;
    }
}
