// Names to positions in a table (kallsyms symbols, BTF types), every position of a repeated name
// in increasing order, built with one hash operation per entry and no allocation per name: the
// dictionary holds a name's first position and an array chains each position to the next one
// with the same name. Tables have 100-200 thousand names and every command builds one or two.
using System.Runtime.InteropServices;

namespace Kdx.Kernel;

public sealed class NameIndex
{
    private readonly Dictionary<string, int> _first;
    private readonly int[] _next; // position -> next position of the same name, or -1

    /// <summary>Indexes positions 0..count-1 by <paramref name="nameAt"/>; null or empty names are left out.</summary>
    public NameIndex(int count, Func<int, string?> nameAt)
    {
        _first = new Dictionary<string, int>(count, StringComparer.Ordinal);
        _next = new int[count];
        for (var i = count - 1; i >= 0; i--) // backwards: each name's slot ends at its first position
        {
            var name = nameAt(i);
            if (string.IsNullOrEmpty(name))
            {
                _next[i] = -1;
                continue;
            }
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_first, name, out var seen);
            _next[i] = seen ? slot : -1;
            slot = i;
        }
    }

    /// <summary>The positions of <paramref name="name"/>, in increasing order (none when it is absent).</summary>
    public Positions Of(string name) => new(this, _first.TryGetValue(name, out var first) ? first : -1);

    /// <summary>A name's positions, walked without allocating.</summary>
    public readonly struct Positions(NameIndex index, int first)
    {
        public bool IsEmpty => first < 0;
        public int First => first;
        public Enumerator GetEnumerator() => new(index._next, first);

        public struct Enumerator(int[] next, int first)
        {
            private int _at = -2;
            public readonly int Current => _at;
            public bool MoveNext()
            {
                _at = _at == -2 ? first : next[_at];
                return _at >= 0;
            }
        }
    }
}
