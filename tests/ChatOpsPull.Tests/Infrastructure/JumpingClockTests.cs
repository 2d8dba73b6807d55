namespace ChatOpsPull.Tests.Infrastructure;

public sealed class JumpingClockTests
{
    [Fact]
    public async Task A_30_s_delay_ends_right_after_a_31_s_jump_and_the_clock_reads_the_jump()
    {
        var clock = new JumpingClock();
        var before = clock.GetUtcNow();
        var delay = Task.Delay(TimeSpan.FromSeconds(30), clock);
        Assert.False(delay.IsCompleted);

        clock.Jump(TimeSpan.FromSeconds(31));

        var finished = await Task.WhenAny(delay, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(delay, finished);
        Assert.True(clock.GetUtcNow() - before >= TimeSpan.FromSeconds(31));
    }

    [Fact]
    public async Task A_jump_short_of_the_due_time_leaves_the_timer_waiting_the_rest()
    {
        var clock = new JumpingClock();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60), clock);
        var shorter = Task.Delay(TimeSpan.FromSeconds(25), clock);

        clock.Jump(TimeSpan.FromSeconds(30));
        await shorter.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(deadline.IsCancellationRequested);

        clock.Jump(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => deadline.IsCancellationRequested, TimeSpan.FromSeconds(10), () => "the 60 s deadline did not fire after 60 s of jumps");
    }

    [Fact]
    public async Task A_callback_that_blocks_does_not_stop_time_or_other_timers()
    {
        var clock = new JumpingClock();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var left = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Disposed only after the callback has left it: the callback runs on the thread pool and may start late.
        var release = new ManualResetEventSlim();
        using var blocking = clock.CreateTimer(_ =>
        {
            entered.TrySetResult();
            release.Wait(TimeSpan.FromSeconds(30));
            left.TrySetResult();
        }, null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);
        var other = Task.Delay(TimeSpan.FromSeconds(20), clock);

        clock.Jump(TimeSpan.FromSeconds(21));

        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var finished = await Task.WhenAny(other, Task.Delay(TimeSpan.FromSeconds(10)));
        var stillBlocked = !left.Task.IsCompleted;
        release.Set();
        await left.Task.WaitAsync(TimeSpan.FromSeconds(10));
        release.Dispose();
        Assert.Same(other, finished);
        Assert.True(stillBlocked, "the other timer fired only after the blocking callback had returned");
    }

    [Fact]
    public async Task A_periodic_timer_ticks_again_after_each_period()
    {
        var clock = new JumpingClock();
        var ticks = 0;
        using var timer = clock.CreateTimer(_ => Interlocked.Increment(ref ticks), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));

        clock.Jump(TimeSpan.FromSeconds(10));
        await Eventually.HoldsAsync(() => Volatile.Read(ref ticks) == 1, TimeSpan.FromSeconds(10), () => $"{ticks} ticks after the first period");
        clock.Jump(TimeSpan.FromSeconds(10));
        await Eventually.HoldsAsync(() => Volatile.Read(ref ticks) == 2, TimeSpan.FromSeconds(10), () => $"{ticks} ticks after the second period");
    }
}
