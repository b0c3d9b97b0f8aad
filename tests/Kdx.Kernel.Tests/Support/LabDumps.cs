// The crash lab's real dumps (~/.cache/kdx-lab/scenarios): ELF /proc/vmcore copies whose PT_LOADs
// carry kernel virtual addresses (kernel image and direct map), read through ElfImage until the
// dump branch's address space lands here, plus the VMCOREINFO note and makedumpfile's dmesg.
using System.Buffers.Binary;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Images;

namespace Kdx.Kernel.Tests.Support;

public static class LabDumps
{
    public static string ScenariosDir =>
        Environment.GetEnvironmentVariable("KDX_LAB_CACHE") is { } c
            ? Path.Combine(c, "scenarios")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kdx-lab", "scenarios");

    /// <summary>ELF vmcores of <see cref="Oracles.Release"/> whose loads have virtual addresses (kdump's /proc/vmcore copies).</summary>
    public static IReadOnlyList<string> VirtualElfDumps()
    {
        if (!Directory.Exists(ScenariosDir))
            return [];
        var list = new List<string>();
        foreach (var dir in Directory.GetDirectories(ScenariosDir, Oracles.Release + "_*").Order(StringComparer.Ordinal))
        {
            foreach (var file in Directory.GetFiles(dir, "*.vmcore").Order(StringComparer.Ordinal))
            {
                try
                {
                    using var image = ElfImage.Open(file);
                    if (image.Segments.Any(s => s.Type == 1 && s.VirtualAddress >= 0xffff800000000000))
                        list.Add(file);
                }
                catch (DumpFormatException)
                {
                    // not ELF (kdump-compressed): needs the dump branch's readers
                }
            }
        }
        return list;
    }

    public static VmcoreInfo ReadVmcoreInfo(ElfImage core)
    {
        foreach (var seg in core.Segments.Where(s => s.Type == 4)) // PT_NOTE
        {
            var notes = new byte[seg.FileSize];
            core.ReadFile((long)seg.Offset, notes);
            var at = 0;
            while (at + 12 <= notes.Length)
            {
                var nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at));
                var descSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 4));
                var name = Encoding.ASCII.GetString(notes, at + 12, Math.Max(0, nameSize - 1));
                var desc = at + 12 + ((nameSize + 3) & ~3);
                if (name == "VMCOREINFO")
                    return VmcoreInfo.Parse(notes.AsSpan(desc, descSize));
                at = desc + ((descSize + 3) & ~3);
            }
        }
        throw new InvalidOperationException($"{core.Path}: no VMCOREINFO note");
    }
}
