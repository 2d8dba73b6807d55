using System.Runtime.CompilerServices;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// The one polling helper of the tests: waits, bounded by a deadline, until a condition holds. On timeout the test fails
/// with what it waited for and the last value it saw, so a slow machine and a real defect read differently.
/// </summary>
public static class Eventually
{
    /// <summary>How long a wait lasts unless the caller says otherwise (generous: the suite runs on 2 busy cores).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    /// <summary>Polls <paramref name="probe"/> until <paramref name="condition"/> holds for its value and returns that value.</summary>
    /// <param name="giveUpWhen">Ends the wait early (a process that exited): the value cannot come any more.</param>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what, TimeSpan? timeout = null, Func<T, string>? describe = null, Func<bool>? giveUpWhen = null)
    {
        var wait = timeout ?? DefaultTimeout;
        var (held, value, gaveUp) = await PollAsync(probe, condition, wait, giveUpWhen);
        if (!held)
        {
            var seen = describe is null ? Describe(value) : describe(value);
            Assert.Fail(gaveUp
                ? $"Gave up waiting for {what} (it can no longer happen); last seen: {seen}"
                : $"Timed out after {wait.TotalSeconds:0.#} s waiting for {what}; last seen: {seen}");
        }

        return value;
    }

    /// <summary>
    /// Polls like <see cref="ValueAsync{T}"/> but does not fail the test when <paramref name="within"/> passes: for a
    /// stand-in's own deadline (Slack sends an envelope again when its ack does not come in 3 s), not for a test's patience.
    /// </summary>
    public static async Task<(bool Held, T Value)> WithinAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan within)
    {
        var (held, value, _) = await PollAsync(probe, condition, within, giveUpWhen: null);
        return (held, value);
    }

    /// <summary>Waits until <paramref name="condition"/> holds; <paramref name="seen"/> says what there was instead when it never does.</summary>
    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? seen = null, Func<bool>? giveUpWhen = null) =>
        ValueAsync(
            () => Task.FromResult(condition()),
            held => held,
            what,
            timeout,
            _ => seen is null ? "the condition was still false" : seen(),
            giveUpWhen);

    /// <summary>Waits until <paramref name="condition"/> holds; the condition's own source text says what was waited for.</summary>
    public static Task HoldsAsync(Func<bool> condition, TimeSpan timeout, Func<string> seen, [CallerArgumentExpression(nameof(condition))] string what = "") =>
        HoldsAsync(condition, what, timeout, seen);

    private static async Task<(bool Held, T Value, bool GaveUp)> PollAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan wait, Func<bool>? giveUpWhen)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var value = await probe();
            if (condition(value))
            {
                return (true, value, false);
            }

            var gaveUp = giveUpWhen?.Invoke() == true;
            if (gaveUp || DateTime.UtcNow > deadline)
            {
                return (false, value, gaveUp);
            }

            await Task.Delay(Poll); // polling interval, not a wait for an outcome
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        string text => $"\"{text}\"",
        System.Collections.IEnumerable items and not string => $"[{string.Join(", ", items.Cast<object?>().Take(20))}]",
        _ => value.ToString() ?? "",
    };
}
