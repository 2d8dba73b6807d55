namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// The most recent alert deliveries, by key, so a re-send is not delivered again. Bounded: past the capacity the
/// oldest keys are forgotten (a forgotten re-send is delivered again; the incident engine is idempotent too).
/// </summary>
public sealed class SeenAlerts
{
    private readonly int _capacity;
    private readonly HashSet<string> _keys;
    private readonly Queue<string> _order;
    private readonly Lock _lock = new();

    public SeenAlerts(int capacity)
    {
        _capacity = capacity;
        _keys = new HashSet<string>(Math.Min(capacity, 4096), StringComparer.Ordinal);
        _order = new Queue<string>(Math.Min(capacity, 4096));
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _keys.Count;
            }
        }
    }

    public bool Contains(string key)
    {
        if (_capacity == 0)
        {
            return false;
        }

        lock (_lock)
        {
            return _keys.Contains(key);
        }
    }

    /// <summary>
    /// Which alerts of a request were delivered already (by <see cref="PullAlert.DeduplicationKey"/>; one without a key
    /// never was), under one lock for the request instead of one per alert: a storm's requests no longer queue for it
    /// alert by alert. Null when nothing is remembered.
    /// </summary>
    public bool[]? ContainsEach(IReadOnlyList<PullAlert> alerts)
    {
        if (_capacity == 0)
        {
            return null;
        }

        var seen = new bool[alerts.Count];
        lock (_lock)
        {
            for (var i = 0; i < alerts.Count; i++)
            {
                seen[i] = alerts[i].DeduplicationKey is { } key && _keys.Contains(key);
            }
        }

        return seen;
    }

    /// <summary>Remembers a key after its alert was delivered.</summary>
    public void Add(string key)
    {
        if (_capacity == 0)
        {
            return;
        }

        lock (_lock)
        {
            AddLocked(key);
        }
    }

    /// <summary>Remembers the keys of a request's alerts after they were delivered, under one lock.</summary>
    public void AddAll(IReadOnlyList<PullAlert> alerts)
    {
        if (_capacity == 0)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var alert in alerts)
            {
                if (alert.DeduplicationKey is { } key)
                {
                    AddLocked(key);
                }
            }
        }
    }

    private void AddLocked(string key)
    {
        if (!_keys.Add(key))
        {
            return;
        }

        _order.Enqueue(key);
        while (_order.Count > _capacity)
        {
            _keys.Remove(_order.Dequeue());
        }
    }
}
