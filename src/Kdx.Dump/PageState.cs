// What a dump says about one page frame: there, there and all zero, or why it is not there.
namespace Kdx.Dump;

public enum PageState
{
    /// <summary>The page's contents are in the dump.</summary>
    Present,
    /// <summary>In the dump as the shared zero page (kdump) : reads return zeros.</summary>
    Zero,
    /// <summary>RAM that the dump level filtered out.</summary>
    Excluded,
    /// <summary>Not RAM in the dump: a hole in the physical address space, or past its end.</summary>
    Hole,
    /// <summary>The dump was cut short before this page was written.</summary>
    Lost,
}

public static class PageStateExtensions
{
    public static bool IsReadable(this PageState s) => s is PageState.Present or PageState.Zero;

    public static PageAbsence ToAbsence(this PageState s) => s switch
    {
        PageState.Excluded => PageAbsence.Excluded,
        PageState.Lost => PageAbsence.Lost,
        _ => PageAbsence.Hole,
    };
}
