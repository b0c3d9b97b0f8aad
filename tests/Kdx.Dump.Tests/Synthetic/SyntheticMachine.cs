// A tiny made-up machine for tests: which pfns are RAM, which of those a dump keeps and with
// what contents, its CPUs' registers and its VMCOREINFO. The writers beside this turn it into
// dump files of each format, built from the format descriptions.
using System.Text;

namespace Kdx.Dump.Tests.Synthetic;

public sealed class SyntheticMachine
{
    public int PageSize { get; init; } = 4096;

    /// <summary>One past the highest pfn.</summary>
    public ulong MaxPfn { get; set; }

    /// <summary>Pages in the dump, by pfn.</summary>
    public SortedDictionary<ulong, byte[]> Pages { get; } = [];

    /// <summary>RAM pfns the dump level left out.</summary>
    public SortedSet<ulong> Excluded { get; } = [];

    public string VmcoreInfo { get; set; } = "";

    public List<(int Pid, ulong[] Regs)> Cpus { get; } = [];

    public bool IsRam(ulong pfn) => Pages.ContainsKey(pfn) || Excluded.Contains(pfn);

    public byte[] VmcoreInfoBytes => Encoding.ASCII.GetBytes(VmcoreInfo);

    /// <summary>Bytes a page holds: a pattern that differs per pfn and compresses somewhat.</summary>
    public static byte[] Pattern(ulong pfn, int size)
    {
        var b = new byte[size];
        var x = (uint)(pfn * 2654435761UL) | 1;
        for (var i = 0; i < size; i++)
        {
            if (i % 64 < 16)
            {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b[i] = (byte)x;
            }
            else
            {
                b[i] = (byte)((ulong)(i / 64) + pfn);
            }
        }
        return b;
    }

    /// <summary>
    /// 64 pfns: RAM 0-47 but a hole at 20-23; 10, 11 and 30 excluded; 5 and 6 all zeros; one
    /// random (incompressible) page at 40; two CPUs.
    /// </summary>
    public static SyntheticMachine Sample()
    {
        var m = new SyntheticMachine { MaxPfn = 64 };
        for (ulong pfn = 0; pfn < 48; pfn++)
        {
            if (pfn is >= 20 and < 24)
                continue;
            if (pfn is 10 or 11 or 30)
                m.Excluded.Add(pfn);
            else if (pfn is 5 or 6)
                m.Pages[pfn] = new byte[m.PageSize];
            else
                m.Pages[pfn] = Pattern(pfn, m.PageSize);
        }
        var random = new byte[m.PageSize];
        new Random(40).NextBytes(random);
        m.Pages[40] = random;
        m.VmcoreInfo = "OSRELEASE=6.1.0-test-amd64\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82a12345\nOFFSET(uts_namespace.name)=4\nKERNELOFFSET=1000000\nNUMBER(phys_base)=0\nCRASHTIME=1763865000\n";
        m.Cpus.Add((1234, Regs(0x10)));
        m.Cpus.Add((0, Regs(0x20)));
        return m;
    }

    /// <summary>27 x86_64 pt_regs values, each seed + index, with ip and sp recognisable.</summary>
    public static ulong[] Regs(ulong seed)
    {
        var r = new ulong[27];
        for (var i = 0; i < r.Length; i++)
            r[i] = seed + (ulong)i;
        r[16] = 0xffffffff81000000 + seed; // ip
        r[19] = 0xffffc90000010000 + seed; // sp
        return r;
    }
}
