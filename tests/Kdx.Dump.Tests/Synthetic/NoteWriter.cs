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
        {
            // QEMUCPUState version 1 (440 bytes) per CPU: rip, rsp, gs base, cr3, kernel_gs_base.
            for (var cpu = 0; cpu < m.Cpus.Count; cpu++)
            {
                var q = new byte[0x1b8];
                BinaryPrimitives.WriteUInt32LittleEndian(q, 1);
                BinaryPrimitives.WriteUInt32LittleEndian(q.AsSpan(4), 0x1b8);
                BinaryPrimitives.WriteUInt64LittleEndian(q.AsSpan(8 + 6 * 8), m.Cpus[cpu].Regs[19]);
                BinaryPrimitives.WriteUInt64LittleEndian(q.AsSpan(8 + 16 * 8), m.Cpus[cpu].Regs[16]);
                BinaryPrimitives.WriteUInt64LittleEndian(q.AsSpan(152 + 4 * 24 + 16), 0xffff888000100000 + (ulong)cpu * 0x100000);
                BinaryPrimitives.WriteUInt64LittleEndian(q.AsSpan(392 + 3 * 8), 0x1234000);
                BinaryPrimitives.WriteUInt64LittleEndian(q.AsSpan(432), 0x7f0000000000 + (ulong)cpu);
                Note(o, "QEMU", 0, q);
            }
        }
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
