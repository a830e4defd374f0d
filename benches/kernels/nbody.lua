-- Lua port of nbody.mini: the same bodies, steps and output.
local PI = 3.14159265358979323
local SOLAR_MASS = 4 * PI * PI
local DAYS_PER_YEAR = 365.24

local function body(x, y, z, vx, vy, vz, mass)
  return {x = x, y = y, z = z, vx = vx * DAYS_PER_YEAR, vy = vy * DAYS_PER_YEAR,
          vz = vz * DAYS_PER_YEAR, mass = mass * SOLAR_MASS}
end

local bodies = {
  {x = 0, y = 0, z = 0, vx = 0, vy = 0, vz = 0, mass = SOLAR_MASS},
  body(4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
       1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
       9.54791938424326609e-04),
  body(8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
       -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
       2.85885980666130812e-04),
  body(1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
       2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
       4.36624404335156298e-05),
  body(1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
       2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
       5.15138902046611451e-05),
}

local function advance(dt, steps)
  local n = #bodies
  for _ = 1, steps do
    for i = 1, n do
      local b1 = bodies[i]
      for j = i + 1, n do
        local b2 = bodies[j]
        local dx, dy, dz = b1.x - b2.x, b1.y - b2.y, b1.z - b2.z
        local dist2 = dx * dx + dy * dy + dz * dz
        local mag = dt * (dist2 ^ -1.5)
        local b1m, b2m = b1.mass * mag, b2.mass * mag
        b1.vx = b1.vx - dx * b2m; b1.vy = b1.vy - dy * b2m; b1.vz = b1.vz - dz * b2m
        b2.vx = b2.vx + dx * b1m; b2.vy = b2.vy + dy * b1m; b2.vz = b2.vz + dz * b1m
      end
    end
    for i = 1, n do
      local b = bodies[i]
      b.x = b.x + dt * b.vx; b.y = b.y + dt * b.vy; b.z = b.z + dt * b.vz
    end
  end
end

local function energy()
  local e, n = 0.0, #bodies
  for i = 1, n do
    local b1 = bodies[i]
    for j = i + 1, n do
      local b2 = bodies[j]
      local dx, dy, dz = b1.x - b2.x, b1.y - b2.y, b1.z - b2.z
      e = e - (b1.mass * b2.mass) / ((dx * dx + dy * dy + dz * dz) ^ 0.5)
    end
  end
  for i = 1, n do
    local b = bodies[i]
    e = e + b.mass * (b.vx * b.vx + b.vy * b.vy + b.vz * b.vz) / 2.0
  end
  return e
end

local px, py, pz = 0.0, 0.0, 0.0
for _, b in ipairs(bodies) do
  px = px - b.vx * b.mass; py = py - b.vy * b.mass; pz = pz - b.vz * b.mass
end
bodies[1].vx, bodies[1].vy, bodies[1].vz = px / SOLAR_MASS, py / SOLAR_MASS, pz / SOLAR_MASS

print(string.format("%.9f", energy()))
advance(0.01, 20000)
print(string.format("%.9f", energy()))
