// Tests for the NMI code list parser: a table of inputs against bitmap_parselist()'s results, and properties over generated lists.
using CsCheck;
using Kdx.Setup.Nmi;

namespace Kdx.Setup.Tests.Nmi;

public class NmiCodeListTests
{
    // Expected sets written by hand from lib/bitmap-str.c's algorithm (Linux 6.1 and later).
    [Theory]
    [InlineData("0,13,16,44,10", "0,10,13,16,44")]
    [InlineData("10-100", "10-100")]
    [InlineData("0,1,2-8,10", "0-8,10")]
    [InlineData("0", "0")]
    [InlineData("255", "255")]
    [InlineData("0-255", "0-255")]
    [InlineData("", "")]
    [InlineData(",", "")]
    [InlineData("\n", "")]
    [InlineData("  ", "")]
    [InlineData("5\n", "5")]
    [InlineData("1,,5", "1,5")]
    [InlineData(",44", "44")]
    [InlineData("3 4\t5", "3-5")]
    [InlineData("007", "7")]
    [InlineData("7-7", "7")]
    [InlineData("N", "255")]
    [InlineData("250-N", "250-255")]
    [InlineData("all", "0-255")]
    [InlineData("ALL", "0-255")]
    [InlineData("0-15:2/8", "0-1,8-9")]
    [InlineData("all:1/64", "0,64,128,192")]
    [InlineData("0-9:2/5N", "0-1,5-6,255")]
    [InlineData("1\n2", "1")]
    [InlineData("1 \n2", "1-2")]
    [InlineData("1\0" + "300", "1")]
    [InlineData("0-1:0/4", "")]
    public void Accepts_like_the_kernel(string input, string canonical)
    {
        Assert.True(NmiCodeList.TryParse(input, out var set, out var error), error?.Message);
        Assert.Equal(canonical, set.ToString());
    }

    [Theory]
    [InlineData("1-", NmiListErrorKind.Invalid)]
    [InlineData("300", NmiListErrorKind.Range)]
    [InlineData("256", NmiListErrorKind.Range)]
    [InlineData("250-256", NmiListErrorKind.Range)]
    [InlineData("a,b", NmiListErrorKind.Invalid)]
    [InlineData("5-3", NmiListErrorKind.Invalid)]
    [InlineData("300-5", NmiListErrorKind.Invalid)]
    [InlineData("-5", NmiListErrorKind.Invalid)]
    [InlineData("+5", NmiListErrorKind.Invalid)]
    [InlineData("0x10", NmiListErrorKind.Invalid)]
    [InlineData("1;2", NmiListErrorKind.Invalid)]
    [InlineData("1.5", NmiListErrorKind.Invalid)]
    [InlineData("5:1/2", NmiListErrorKind.Invalid)]
    [InlineData("0-7:1", NmiListErrorKind.Invalid)]
    [InlineData("0-7:3/2", NmiListErrorKind.Invalid)]
    [InlineData("0-7:1/0", NmiListErrorKind.Invalid)]
    [InlineData("0-7:1/2x", NmiListErrorKind.Invalid)]
    [InlineData("allx", NmiListErrorKind.Invalid)]
    [InlineData("al", NmiListErrorKind.Invalid)]
    [InlineData("n", NmiListErrorKind.Invalid)]
    [InlineData("1 - 2", NmiListErrorKind.Invalid)]
    [InlineData("4294967296", NmiListErrorKind.Overflow)]
    [InlineData("99999999999999999999999", NmiListErrorKind.Overflow)]
    // end + 1 wraps to a group size of 0 in the kernel, which check_region() calls EINVAL.
    [InlineData("4294967295", NmiListErrorKind.Invalid)]
    [InlineData("4294967294", NmiListErrorKind.Range)]
    [InlineData("1\u00a0", NmiListErrorKind.Invalid)]
    public void Rejects_like_the_kernel(string input, NmiListErrorKind kind)
    {
        Assert.False(NmiCodeList.TryParse(input, out _, out var error));
        Assert.Equal(kind, error!.Kind);
        var e = Assert.Throws<NmiListException>(() => NmiCodeList.Parse(input));
        Assert.Contains(error.Errno, e.Message);
    }

    [Fact]
    public void Error_names_the_offset_where_parsing_stopped()
    {
        Assert.False(NmiCodeList.TryParse("1,2,x", out _, out var error));
        Assert.Equal(4, error!.Offset);
        Assert.Contains("'x'", error.Message);
    }

    [Fact]
    public void Code_zero_is_an_ordinary_member()
    {
        var set = NmiCodeList.Parse("0");
        Assert.True(set.Contains(0));
        Assert.False(set.Contains(1));
        Assert.Equal(1, set.Count);
        Assert.False(NmiCodeSet.Empty.Contains(0));
    }

    private static readonly Gen<NmiCodeSet> GenSet =
        Gen.OneOf(
            Gen.Int[0, 255].Array[0, 40].Select(a => NmiCodeSet.Of(a)),
            Gen.Select(Gen.Int[0, 255], Gen.Int[0, 255]).Array[0, 6].Select(rs =>
                rs.Aggregate(NmiCodeSet.Empty, (s, r) => s.WithRange(Math.Min(r.Item1, r.Item2), Math.Max(r.Item1, r.Item2)))));

    [Fact]
    public void Format_then_parse_gives_the_same_set()
    {
        GenSet.Sample(set =>
        {
            var text = set.ToString();
            Assert.Equal(set, NmiCodeList.Parse(text));
            Assert.DoesNotContain("N", text);
            Assert.DoesNotContain(":", text);
        });
    }

    // One region in the kernel syntax, with the set it denotes computed independently of the parser.
    private static readonly Gen<(string Text, NmiCodeSet Set)> GenRegion =
        Gen.OneOf(
            Gen.Int[0, 255].Select(c => (c == 255 ? "N" : c.ToString(), NmiCodeSet.Of(c))),
            Gen.Select(Gen.Int[0, 255], Gen.Int[0, 255]).Select(r =>
            {
                var (a, b) = (Math.Min(r.Item1, r.Item2), Math.Max(r.Item1, r.Item2));
                return ($"{a}-{(b == 255 ? "N" : b.ToString())}", NmiCodeSet.Empty.WithRange(a, b));
            }),
            Gen.Select(Gen.Int[0, 255], Gen.Int[0, 255], Gen.Int[1, 64], Gen.Int[0, 64]).Where(t => t.Item4 <= t.Item3).Select(t =>
            {
                var (a, b) = (Math.Min(t.Item1, t.Item2), Math.Max(t.Item1, t.Item2));
                var (group, used) = (t.Item3, t.Item4);
                var set = NmiCodeSet.Empty;
                for (var c = a; c <= b; c++)
                    if ((c - a) % group < used)
                        set = set.With(c);
                return ($"{a}-{b}:{used}/{group}", set);
            }),
            Gen.Const(("all", NmiCodeSet.Empty.WithRange(0, 255))));

    private static readonly Gen<string> GenSeparator = Gen.OneOf<string>(",", " ", ", ", ",,", "\t", " , ");

    [Fact]
    public void Generated_lists_parse_to_the_union_of_their_regions()
    {
        Gen.Select(GenRegion.Array[0, 8], GenSeparator.Array[8], Gen.OneOf<string>("", ",", " ", "\n", ",\n")).Sample((regions, seps, tail) =>
        {
            var text = string.Concat(regions.Select((r, i) => (i == 0 ? "" : seps[i]) + r.Text)) + tail;
            var expected = regions.Aggregate(NmiCodeSet.Empty, (s, r) => s.Union(r.Set));
            Assert.True(NmiCodeList.TryParse(text, out var set, out var error), $"{text}: {error?.Message}");
            Assert.Equal(expected, set);
            Assert.Equal(set, NmiCodeList.Parse(set.ToString()));
        });
    }

    [Fact]
    public void Any_text_is_either_rejected_or_round_trips()
    {
        Gen.String[Gen.Char["0123456789,-:/N al\n\tx"], 0, 24].Sample(text =>
        {
            if (NmiCodeList.TryParse(text, out var set, out var error))
                Assert.Equal(set, NmiCodeList.Parse(set.ToString()));
            else
                Assert.InRange(error!.Offset, 0, System.Text.Encoding.UTF8.GetByteCount(text));
        });
    }
}
