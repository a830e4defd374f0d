-- Lua port of spectral_norm.mini: the same power method and output.
local function a(i, j)
  return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
end

local function times_a(v)
  local n, out = #v, {}
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do s = s + a(i, j) * v[j + 1] end
    out[i + 1] = s
  end
  return out
end

local function times_at(v)
  local n, out = #v, {}
  for i = 0, n - 1 do
    local s = 0.0
    for j = 0, n - 1 do s = s + a(j, i) * v[j + 1] end
    out[i + 1] = s
  end
  return out
end

local function spectral_norm(n)
  local u, v = {}, nil
  for i = 1, n do u[i] = 1.0 end
  for _ = 1, 10 do
    v = times_at(times_a(u))
    u = times_at(times_a(v))
  end
  local vbv, vv = 0.0, 0.0
  for i = 1, n do
    vbv = vbv + u[i] * v[i]
    vv = vv + v[i] * v[i]
  end
  return (vbv / vv) ^ 0.5
end

print(string.format("%.9f", spectral_norm(100)))
