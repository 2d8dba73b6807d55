global using ChatOpsPull.Configuration;
