// Runs the kdx command line in this process, as the tests' one way to call it, with what it wrote.
namespace Kdx.Cli.Tests;

internal static class KdxInProcess
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = KdxProgram.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
