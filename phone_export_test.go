package dripcel

// MobileFloor is the fewest national digits ToInternational accepts in a
// mobile number of region, or 0 when it sets none.
func MobileFloor(region string) int { return mobileFloors().byRegion[region] }
