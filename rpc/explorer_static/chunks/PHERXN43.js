import{a as r,b as e}from"./J7PVFLH4.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{r as RadarModule,e as createRadarServices};
