// What one measured command did over its repetitions: wall time (median/min/max) and peak resident memory.
namespace Kdx.Bench;

public sealed record Sample(string Label, IReadOnlyList<double> WallSeconds, double PeakRssMiB, int ExitCode)
{
    public double Median
    {
        get
        {
            var sorted = WallSeconds.Order().ToArray();
            var mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    public double Min => WallSeconds.Min();

    public double Max => WallSeconds.Max();

    /// <summary>How many times faster this sample is than <paramref name="peer"/> (median over median).</summary>
    public double SpeedupOver(Sample peer) => peer.Median / Median;

    /// <summary>"0.123 s (0.120-0.130)" for tables.</summary>
    public string WallText => WallSeconds.Count == 1 ? $"{Median:0.000} s" : $"{Median:0.000} s ({Min:0.000}-{Max:0.000})";

    public string RssText => $"{PeakRssMiB:0.0} MiB";
}
