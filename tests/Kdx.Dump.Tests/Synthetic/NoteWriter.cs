// Writes an ELF note area like the one in /proc/vmcore: a CORE/NT_PRSTATUS note per CPU, then
// VMCOREINFO, then (optionally) a QEMU note.
using System.Buffers.Binary;
using System.Text;

namespace Kdx.Dump.Tests.Synthetic;

public static class NoteWriter
{
    /// <summary>The note bytes, and where VMCOREINFO's descriptor starts inside them.</summary>
    public static (byte[] Notes, int VmcoreInfoOffset) Write(SyntheticMachine m, bool qemuNote = false)
    {
        var o = new MemoryStream();
        foreach (var (pid, regs) in m.Cpus)
        {
            var desc = new byte[336];
            BinaryPrimitives.WriteInt32LittleEndian(desc.AsSpan(32), pid);
            for (var i = 0; i < regs.Length; i++)
                BinaryPrimitives.WriteUInt64LittleEndian(desc.AsSpan(112 + 8 * i), regs[i]);
            Note(o, "CORE", 1, desc);
        }
        var at = -1;
        if (m.VmcoreInfo.Length > 0)
            at = Note(o, "VMCOREINFO", 0, m.VmcoreInfoBytes);
        if (qemuNote)
            Note(o, "QEMU", 0, new byte[0x1b0]);
        return (o.ToArray(), at);
    }

    private static int Note(MemoryStream o, string name, uint type, byte[] desc)
    {
        var n = Encoding.ASCII.GetBytes(name + "\0");
        Span<byte> h = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)n.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)desc.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], type);
        o.Write(h);
        o.Write(n);
        Pad(o);
        var at = (int)o.Position;
        o.Write(desc);
        Pad(o);
        return at;
    }

    private static void Pad(MemoryStream o)
    {
        while (o.Position % 4 != 0)
            o.WriteByte(0);
    }
}
