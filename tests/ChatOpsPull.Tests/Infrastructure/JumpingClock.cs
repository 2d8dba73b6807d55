namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// A clock that follows real time and can jump ahead at once, so a test can let 30 s of Retry-After pass without
/// waiting them. Unlike a FakeTimeProvider advanced by a pump thread, its timers are real timers: callbacks run on the
/// thread pool as in production, never inline on the thread that moves the clock (a callback that blocks or throws
/// there stops time for the whole bot). A jump re-arms every live timer against the new time, so whatever fell due
/// fires at once.
/// </summary>
public sealed class JumpingClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly HashSet<JumpingTimer> _timers = [];
    private long _offsetTicks;

    private TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

    public override long GetTimestamp() =>
        System.GetTimestamp() + (long)(Offset.Ticks * ((double)System.TimestampFrequency / TimeSpan.TicksPerSecond));

    public override long TimestampFrequency => System.TimestampFrequency;

    /// <summary>Moves the clock ahead by <paramref name="delta"/> at once; timers now due fire right away.</summary>
    public void Jump(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        JumpingTimer[] live;
        lock (_gate)
        {
            Interlocked.Add(ref _offsetTicks, delta.Ticks);
            live = [.. _timers];
        }

        foreach (var timer in live)
        {
            timer.Rearm();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new JumpingTimer(this, callback, state);
        lock (_gate)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    private void Forget(JumpingTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    /// <summary>Keeps its due time on the jumping clock and one real one-shot timer armed for what is left of it.</summary>
    private sealed class JumpingTimer : ITimer
    {
        private readonly JumpingClock _clock;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private readonly ITimer _real;
        private readonly Lock _gate = new();
        private DateTimeOffset? _due;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private bool _disposed;

        public JumpingTimer(JumpingClock clock, TimerCallback callback, object? state)
        {
            _clock = clock;
            _callback = callback;
            _state = state;
            _real = System.CreateTimer(static self => ((JumpingTimer)self!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return false;
                }

                _period = period;
                _due = dueTime == Timeout.InfiniteTimeSpan ? null : _clock.GetUtcNow() + dueTime;
                ArmLocked();
                return true;
            }
        }

        public void Rearm()
        {
            lock (_gate)
            {
                if (!_disposed)
                {
                    ArmLocked();
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                _due = null;
            }

            _real.Dispose();
            _clock.Forget(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void Fire()
        {
            lock (_gate)
            {
                if (_disposed || _due is not { } due)
                {
                    return;
                }

                var now = _clock.GetUtcNow();
                if (now < due)
                {
                    ArmLocked(); // woke early by the real clock's rounding: wait the rest
                    return;
                }

                _due = _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan ? now + _period : null;
                ArmLocked();
            }

            _callback(_state);
        }

        private void ArmLocked()
        {
            if (_due is not { } due)
            {
                _real.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return;
            }

            var left = due - _clock.GetUtcNow();
            _real.Change(left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }
}
