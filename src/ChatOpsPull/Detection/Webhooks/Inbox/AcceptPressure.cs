namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>
/// Whether webhook requests are being accepted right now: each request holds a scope from the moment its alerts go to
/// the inbox until they are committed (or refused). The inbox drain asks before each subject transaction and gives way
/// for a bounded while when requests are waiting (<see cref="AlertInboxDrain"/>), so a storm of alerts is answered first
/// and applied right after, instead of both sharing the cores and the write lock.
/// </summary>
public sealed class AcceptPressure
{
    private int _inFlight;
    private long _started;

    /// <summary>Requests between handing their alerts to the inbox and their answer.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests that began since the process started (a drain tells from it whether requests keep coming).</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Marks one request as being accepted until the scope is disposed.</summary>
    public Scope Begin()
    {
        Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _inFlight);
        return new Scope(this);
    }

    /// <summary>Ends a request's mark (once; a default scope marks nothing).</summary>
    public struct Scope : IDisposable
    {
        private AcceptPressure? _pressure;

        internal Scope(AcceptPressure pressure) => _pressure = pressure;

        public void Dispose()
        {
            if (_pressure is not null)
            {
                Interlocked.Decrement(ref _pressure._inFlight);
                _pressure = null;
            }
        }
    }
}
