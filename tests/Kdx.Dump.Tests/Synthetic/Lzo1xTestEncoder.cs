// A small greedy LZO1X encoder for building test dumps (kdx does not write LZO yet). It emits
// literal runs and M2/M3/M4 matches; the decoder is checked against it and against real liblzo2
// output in Vectors/.
namespace Kdx.Dump.Tests.Synthetic;

public static class Lzo1xTestEncoder
{
    private readonly record struct Token(int Literals, int Distance, int Length); // Length 0 = no match (the tail)

    public static byte[] Compress(ReadOnlySpan<byte> input)
    {
        var tokens = new List<Token>();
        var last = new Dictionary<int, int>();
        int ip = 0, litStart = 0;
        while (ip + 3 <= input.Length)
        {
            var key = input[ip] | (input[ip + 1] << 8) | (input[ip + 2] << 16);
            if (last.TryGetValue(key, out var cand) && ip - cand <= 0xbfff)
            {
                var len = 0;
                while (ip + len < input.Length && input[cand + len] == input[ip + len] && len < 264)
                    len++;
                var dist = ip - cand;
                if (len >= 3)
                {
                    tokens.Add(new Token(ip - litStart, dist, len));
                    for (var k = 0; k < len; k++)
                        if (ip + k + 3 <= input.Length)
                            last[input[ip + k] | (input[ip + k + 1] << 8) | (input[ip + k + 2] << 16)] = ip + k;
                    ip += len;
                    litStart = ip;
                    continue;
                }
            }
            last[key] = ip;
            ip++;
        }
        tokens.Add(new Token(input.Length - litStart, 0, 0));

        var o = new List<byte>();
        var pos = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t.Literals > 0)
            {
                if (o.Count == 0 && t.Literals <= 238)
                    o.Add((byte)(17 + t.Literals));
                else if (t.Literals >= 4)
                    EmitLength(o, t.Literals - 3, 15, 0);
                // 1..3 literals after a match travel in that match's low bits
                o.AddRange(input.Slice(pos, t.Literals).ToArray());
                pos += t.Literals;
            }
            if (t.Length == 0)
                break;
            var following = tokens[i + 1].Literals;
            var next = following is > 0 and <= 3 ? following : 0;
            EmitMatch(o, t.Distance, t.Length, next);
            pos += t.Length;
        }
        o.AddRange([0x11, 0x00, 0x00]);
        return [.. o];
    }

    private static void EmitMatch(List<byte> o, int d, int len, int next)
    {
        if (len <= 8 && d <= 0x800)
        {
            o.Add((byte)(((len - 1) << 5) | (((d - 1) & 7) << 2) | next));
            o.Add((byte)((d - 1) >> 3));
        }
        else if (d <= 0x4000)
        {
            EmitLength(o, len - 2, 31, 32);
            var v = ((d - 1) << 2) | next;
            o.Add((byte)v);
            o.Add((byte)(v >> 8));
        }
        else
        {
            var dd = d - 0x4000;
            EmitLength(o, len - 2, 7, 16 | ((dd >> 11) & 8));
            var v = ((dd & 0x3fff) << 2) | next;
            o.Add((byte)v);
            o.Add((byte)(v >> 8));
        }
    }

    // An opcode whose low bits hold n when it fits in mask, else 0 and the zero-run extension.
    private static void EmitLength(List<byte> o, int n, int mask, int opcode)
    {
        if (n <= mask)
        {
            o.Add((byte)(opcode | n));
            return;
        }
        o.Add((byte)opcode);
        var rem = n - mask;
        while (rem > 255)
        {
            o.Add(0);
            rem -= 255;
        }
        o.Add((byte)rem);
    }
}
