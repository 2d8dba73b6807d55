using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// A whole incident's pods with where each one sits in the list, kept beside the newest version
/// <see cref="LatestIncidents"/> remembers, so that a report's few pods are merged into it by look-ups of those few
/// (<see cref="With"/>) instead of a hash of every pod of the incident per notice: a storm's incident of 10,000 pods taking
/// a round of 10 reports costs 10 look-ups and one copy of the list, not 10,000 look-ups.
/// </summary>
/// <remarks>
/// The positions are shared by successive versions and extended in place (under a lock) while pods only change in place
/// or join at the end, as a failing pod does; a pod that sorts before others (an older first-seen time) moves the
/// positions, and they are counted again once. Only the newest version owns them (<c>Positions.Owner</c>): merging on an
/// older one counts its positions first. Each version's pod list is its own and never changes.
/// </remarks>
internal sealed class WholePods
{
    private readonly Positions _positions;

    private WholePods(IReadOnlyList<AffectedPod> pods, Positions positions)
    {
        Pods = pods;
        _positions = positions;
    }

    /// <summary>Every pod of the incident, in the order the database lists them (first seen, pod, container).</summary>
    public IReadOnlyList<AffectedPod> Pods { get; }

    /// <summary>A whole pod list as read or told; its positions are counted on the first merge.</summary>
    public static WholePods Of(IReadOnlyList<AffectedPod> pods) => new(pods, new Positions());

    /// <summary>
    /// These pods with <paramref name="changed"/> written over them by pod and container (the last of a pod and container
    /// wins); a new pod goes where the database would list it, which for a pod that has just failed is the end. Checked
    /// against a plain one-pass merge in <c>LatestIncidentsTests</c>.
    /// </summary>
    public WholePods With(IReadOnlyList<AffectedPod> changed)
    {
        lock (_positions)
        {
            if (!ReferenceEquals(_positions.Owner, this))
            {
                _positions.Count(Pods);
            }

            var pods = new List<AffectedPod>(Pods.Count + changed.Count);
            pods.AddRange(Pods);
            foreach (var pod in changed)
            {
                if (_positions.TryGet(pod, out var at))
                {
                    pods[at] = pod;
                    continue;
                }

                at = pods.Count;
                while (at > 0 && ListedAfter(pods[at - 1], pod))
                {
                    at--;
                }

                if (at == pods.Count)
                {
                    pods.Add(pod);
                    _positions.Add(pod, at);
                }
                else
                {
                    // Sorts before pods already listed: every position after it moves, so they are counted again.
                    pods.Insert(at, pod);
                    _positions.Count(pods);
                }
            }

            var next = new WholePods(pods, _positions);
            _positions.Owner = next;
            return next;
        }
    }

    internal static bool ListedAfter(AffectedPod a, AffectedPod b)
    {
        var order = a.FirstSeen.CompareTo(b.FirstSeen);
        if (order == 0)
        {
            order = string.CompareOrdinal(a.Pod, b.Pod);
        }

        if (order == 0)
        {
            order = string.CompareOrdinal(a.Container, b.Container);
        }

        return order > 0;
    }

    /// <summary>Where each pod (and container) of the owner's list sits.</summary>
    private sealed class Positions
    {
        private readonly Dictionary<(string Pod, string Container), int> _at = [];

        /// <summary>The version whose list the positions describe; null until counted.</summary>
        public WholePods? Owner { get; set; }

        public bool TryGet(AffectedPod pod, out int at) => _at.TryGetValue((pod.Pod, pod.Container), out at);

        public void Add(AffectedPod pod, int at) => _at[(pod.Pod, pod.Container)] = at;

        public void Count(IReadOnlyList<AffectedPod> pods)
        {
            _at.Clear();
            _at.EnsureCapacity(pods.Count);
            for (var i = 0; i < pods.Count; i++)
            {
                _at[(pods[i].Pod, pods[i].Container)] = i;
            }

            Owner = null;
        }
    }
}
