using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Tests.Observability;

/// <summary>One scrape of <c>/metrics</c> (Prometheus text format 0.0.4), read series by series.</summary>
public sealed partial class PrometheusScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _series = [];

    private PrometheusScrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SeriesLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["k"].Value] = label.Groups["v"].Value;
            }

            _series.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
    }

    public string Text { get; }

    /// <summary>The bot's own series, for failure messages.</summary>
    public override string ToString() =>
        string.Join("\n", Text.Split('\n').Where(l => l.StartsWith("chatopspull_", StringComparison.Ordinal)));

    public static async Task<PrometheusScrape> TakeAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return new PrometheusScrape(await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// The sum of the series of a counter (its name with or without prometheus-net's "_total") carrying every given label.
    /// 0 when there is none yet.
    /// </summary>
    public double Value(string metric, params (string Key, string Value)[] labels) =>
        _series.Where(s => (s.Name == metric || s.Name == metric + "_total") && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value))
            .Sum(s => s.Value);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})?\s+(?<value>\S+)""")]
    private static partial Regex SeriesLine();

    [GeneratedRegex("(?<k>[a-zA-Z_][a-zA-Z0-9_]*)=\"(?<v>(\\\\.|[^\"\\\\])*)\"")]
    private static partial Regex LabelPair();
}
